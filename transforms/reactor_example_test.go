package transforms

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// processor is a TLS payment processor on 127.0.0.1 for the charge-card
// reactor: it records what it got and answers with status and body.
type processor struct {
	*httptest.Server
	mu     sync.Mutex
	got    []string // "auth body"
	status int
	body   string
	hits   atomic.Int32
}

func newProcessor(t *testing.T) *processor {
	p := &processor{}
	p.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.hits.Add(1)
		b, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.got = append(p.got, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization")+" "+r.Header.Get("Content-Type")+" "+string(b))
		status, body := p.status, p.body
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(p.Close)
	return p
}

// answer makes p answer with status and body from now on, forgetting what it got.
func (p *processor) answer(status int, body string) {
	p.mu.Lock()
	p.status, p.body, p.got = status, body, nil
	p.hits.Store(0)
	p.mu.Unlock()
}

func TestExampleChargeCardReactor(t *testing.T) {
	t.Parallel()
	const card = "4242424242424242"
	args := `{"card":{"number":"` + card + `"},"amount":1000}`
	tests := []struct {
		name          string
		status        int
		body          string
		url           string // default: the processor's /charges
		args          string // default: args
		raw, tokenize string
		kind          ErrorKind
		hits          int32
		log           string
	}{
		{name: "charged", status: 201, body: `{"id":"ch_1","network_token":"nt_9999"}`,
			raw: `{"status":201,"charge_id":"ch_1"}`, tokenize: `{"network_token":"nt_9999"}`, hits: 1},
		{name: "declined is answered, not an error", status: 402, body: `{"error":"card_declined"}`,
			raw: `{"status":402}`, hits: 1},
		{name: "destination refused by the policy", url: "https://10.0.0.1/charges",
			kind: ServiceUnavailableError, log: "destination not allowed"},
		{name: "args without a card", args: `{"amount":1000}`, kind: BadRequestError},
	}
	// One processor and one engine for every case: a Go guest's compile and instantiations cost
	// more than its calls.
	p := newProcessor(t)
	e := newEngine(t, Config{HTTPDoer: newNetDoer(p.Server)})
	id := compile(t, e, buildExample(t, "charge-card"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p.answer(tt.status, tt.body)
			url, a := p.URL+"/charges", args
			if tt.url != "" {
				url = tt.url
			}
			if tt.args != "" {
				a = tt.args
			}
			svc := &fakeServices{}
			rx := &ReactExchange{Args: []byte(a), Config: map[string]string{"CHARGE_URL": url, "API_KEY": "sk_test"}, Services: svc}
			o, err := e.OnReact(context.Background(), id, rx)
			if err != nil {
				t.Fatal(err)
			}
			if o.Kind != tt.kind || o.Ended != (tt.kind != NoError) {
				t.Fatalf("outcome %+v, want kind %v", o, tt.kind)
			}
			if !jsonEqual(t, o.Raw, tt.raw) || !jsonEqual(t, o.Tokenize, tt.tokenize) {
				t.Fatalf("raw %s tokenize %s, want %s %s", o.Raw, o.Tokenize, tt.raw, tt.tokenize)
			}
			if p.hits.Load() != tt.hits {
				t.Fatalf("processor hits %d, want %d", p.hits.Load(), tt.hits)
			}
			if tt.hits > 0 {
				want := `POST /charges Bearer sk_test application/json {"amount":1000,"number":"` + card + `"}`
				p.mu.Lock() // the race detector does not see the happens-before of the loopback round trip
				got := p.got[0]
				p.mu.Unlock()
				if got != want {
					t.Fatalf("processor got %q, want %q", got, want)
				}
			}
			if logs := strings.Join(svc.logs, "\n"); !strings.Contains(logs, tt.log) {
				t.Fatalf("log %q, want %q", logs, tt.log)
			}
			for _, m := range o.Messages {
				if strings.Contains(m, card) {
					t.Fatal("the card number reached the caller")
				}
			}
		})
	}
}

func jsonEqual(t *testing.T, got []byte, want string) bool {
	t.Helper()
	if want == "" || got == nil {
		return want == "" && got == nil
	}
	var a, b any
	if json.Unmarshal(got, &a) != nil || json.Unmarshal([]byte(want), &b) != nil {
		return false
	}
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
