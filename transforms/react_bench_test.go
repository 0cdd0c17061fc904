package transforms

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// memDoer answers every request at once with a fixed response: the cost of
// the engine and the guest without the network.
type memDoer struct{ body string }

func (d memDoer) Do(context.Context, *GuestRequest) (*GuestResponse, error) {
	return &GuestResponse{Status: 201, Header: hdr("Content-Type", "application/json"),
		ContentLength: int64(len(d.body)), Body: io.NopCloser(strings.NewReader(d.body))}, nil
}

// BenchmarkReact: one react call, pool warm. echo-wat is the floor (read
// args, write the result); charge-card is the example Go reactor, once with
// a doer answering from memory and once through a TLS destination on
// 127.0.0.1 (net/http, kept-alive connection).
func BenchmarkReact(b *testing.B) {
	ctx := context.Background()
	args := []byte(`{"card":{"number":"4242424242424242"},"amount":1000}`)
	const answer = `{"id":"ch_1","network_token":"nt_9999"}`
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(201)
		io.WriteString(w, answer)
	}))
	defer srv.Close()
	run := func(b *testing.B, e *Engine, id string, rx *ReactExchange) {
		b.ReportAllocs()
		for b.Loop() {
			o, err := e.OnReact(ctx, id, rx)
			if err != nil || o.Ended || o.Raw == nil {
				b.Fatal(o, err)
			}
		}
	}
	b.Run("echo-wat", func(b *testing.B) {
		e := newEngine(b, Config{})
		run(b, e, compile(b, e, testdata(b, "reactecho")), &ReactExchange{Args: []byte(`{"raw":{"status":201}}`)})
	})
	for _, tt := range []struct {
		name string
		doer HTTPDoer
		url  string
	}{
		{"charge-card/doer-in-memory", memDoer{answer}, "https://psp.example/charges"},
		{"charge-card/tls-127.0.0.1", newNetDoer(srv), srv.URL + "/charges"},
	} {
		b.Run(tt.name, func(b *testing.B) {
			e := newEngine(b, Config{HTTPDoer: tt.doer})
			rx := &ReactExchange{Args: args, Config: map[string]string{"CHARGE_URL": tt.url, "API_KEY": "sk_test"}}
			run(b, e, compile(b, e, buildExample(b, "charge-card")), rx)
		})
	}
}
