package transforms

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-edge/sluice/internal/testwasm"
)

// Every example transform, built from source with GOOS=wasip1 and run
// through the Engine. The HTTP end-to-end tests live with the server.

// exampleEngine compiles all examples once per test binary.
var exampleEngine struct {
	once sync.Once
	e    *Engine
	ids  map[string]string
	err  error
}

func examplesEngine(t *testing.T) (*Engine, map[string]string) {
	t.Helper()
	exampleEngine.once.Do(func() {
		e, err := New(context.Background(), Config{CacheDir: testwasm.CompileCacheDir(), CompileTimeout: testCompileTimeout})
		if err != nil {
			exampleEngine.err = err
			return
		}
		exampleEngine.e, exampleEngine.ids = e, map[string]string{}
		for _, name := range []string{"form-encode", "require-header", "custom-error", "vault-response", "hmac-sign"} {
			info, err := e.Compile(context.Background(), buildExample(t, name))
			if err != nil {
				exampleEngine.err = fmt.Errorf("%s: %w", name, err)
				return
			}
			exampleEngine.ids[name] = info.ID
		}
	})
	if exampleEngine.err != nil {
		t.Fatal(exampleEngine.err)
	}
	return exampleEngine.e, exampleEngine.ids
}

func TestExampleFormEncode(t *testing.T) {
	t.Parallel()
	e, ids := examplesEngine(t)
	tests := []struct {
		name, body, want string
		kind             ErrorKind
	}{
		{"flat", `{"amount":10,"card":"4242424242424242"}`, "amount=10&card=4242424242424242", 0},
		{"keeps key order", `{"z":"1","a":"2","m":true,"n":null}`, "z=1&a=2&m=true&n=", 0},
		{"nested and arrays", `{"card":{"number":"4242","cvc":"123"},"tags":["a b","c&d"]}`,
			"card%5Bnumber%5D=4242&card%5Bcvc%5D=123&tags%5B0%5D=a+b&tags%5B1%5D=c%26d", 0},
		{"keeps expressions verbatim", `{"card":"{{ 5f3c | json: '$.number' }}","note":"x {{a}} y"}`,
			"card={{ 5f3c | json: '$.number' }}&note=x+{{a}}+y", 0},
		{"number text kept", `{"amount":10.50,"big":12345678901234567890}`, "amount=10.50&big=12345678901234567890", 0},
		{"array body", `[1,2]`, "", BadRequestError},
		{"not json", `amount=10`, "", BadRequestError},
		{"trailing garbage", `{"a":1} x`, "", BadRequestError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := &Exchange{Headers: hdr("Content-Type", "application/json", "X-Keep", "1"), Body: []byte(tt.body)}
			o, err := e.OnRequest(context.Background(), ids["form-encode"], ex)
			if err != nil {
				t.Fatal(err)
			}
			if tt.kind != 0 {
				if !o.Ended || o.Kind != tt.kind || o.Status != 400 || !slices.Equal(o.Messages, []string{"body must be a JSON object"}) {
					t.Fatalf("outcome = %+v", o)
				}
				return
			}
			if o.Ended || string(ex.Body) != tt.want {
				t.Fatalf("outcome %+v body %q, want %q", o, ex.Body, tt.want)
			}
			want := []string{"Content-Type: application/x-www-form-urlencoded", "X-Keep: 1"}
			if got := hdrStrings(ex.Headers); !slices.Equal(got, want) {
				t.Fatalf("headers = %q", got)
			}
			if ex.Changed() != PartHeaders|PartBody {
				t.Fatalf("changed = %b", ex.Changed())
			}
		})
	}
	t.Run("empty body continues untouched", func(t *testing.T) {
		ex := &Exchange{Headers: hdr("A", "b")}
		if o, err := e.OnRequest(context.Background(), ids["form-encode"], ex); err != nil || o.Ended || ex.Changed() != 0 {
			t.Fatalf("%+v %v changed %b", o, err, ex.Changed())
		}
	})
}

func TestExampleRequireHeader(t *testing.T) {
	t.Parallel()
	e, ids := examplesEngine(t)
	ex := &Exchange{Method: []byte("GET"), Path: []byte("/x"), Headers: hdr("Accept", "*/*")}
	o, err := e.OnRequest(context.Background(), ids["require-header"], ex)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Ended || o.Kind != AuthenticationError || o.Status != 401 ||
		!slices.Equal(o.Messages, []string{"X-Customer-Id header is required"}) {
		t.Fatalf("outcome = %+v", o)
	}
	ex = &Exchange{Headers: hdr("x-customer-id", "c_1")}
	if o, err := e.OnRequest(context.Background(), ids["require-header"], ex); err != nil || o.Ended || ex.Changed() != 0 {
		t.Fatalf("with header: %+v %v changed %b", o, err, ex.Changed())
	}
}

func TestExampleCustomError(t *testing.T) {
	t.Parallel()
	e, ids := examplesEngine(t)
	ex := &Exchange{Body: []byte(`{"teapot": true, "other": 1}`)}
	o, err := e.OnRequest(context.Background(), ids["custom-error"], ex)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Ended || o.Kind != CustomHTTPResponse || o.Status != 418 || string(o.Body) != `{"custom":"teapot"}` ||
		!slices.Equal(hdrStrings(o.Headers), []string{"X-Custom: yes"}) || o.Messages != nil {
		t.Fatalf("outcome = %+v (body %q)", o, o.Body)
	}
	for _, body := range []string{`{"teapot": false}`, `{}`, `not json`, ``} {
		ex := &Exchange{Body: []byte(body)}
		if o, err := e.OnRequest(context.Background(), ids["custom-error"], ex); err != nil || o.Ended || ex.Changed() != 0 {
			t.Fatalf("%q: %+v %v", body, o, err)
		}
	}
}

func TestExampleVaultResponse(t *testing.T) {
	t.Parallel()
	e, ids := examplesEngine(t)
	id := ids["vault-response"]
	body := `{"id": "acct_1", "account": {"routing": "021000021", "number": "000123456789"}, "z": [1]}`
	svc := &fakeServices{tokenize: func(typ string, data []byte) (string, error) { return "9c1d6a1e-tok", nil }}
	ex := &Exchange{Status: 200, Headers: hdr("Content-Type", "application/json"), Body: []byte(body), Services: svc}
	o, err := e.OnResponse(context.Background(), id, ex)
	if err != nil || o.Ended {
		t.Fatalf("%+v %v", o, err)
	}
	want := strings.Replace(body, `"000123456789"`, `"9c1d6a1e-tok"`, 1)
	if string(ex.Body) != want || ex.Changed() != PartBody {
		t.Fatalf("body = %s, want %s", ex.Body, want)
	}
	if !slices.Equal(svc.calls, []string{`us_bank_account_number "000123456789"`}) {
		t.Fatalf("tokenize calls = %q", svc.calls)
	}

	t.Run("token type from configuration", func(t *testing.T) {
		svc := &fakeServices{tokenize: func(string, []byte) (string, error) { return "t", nil }}
		ex := &Exchange{Body: []byte(body), Services: svc, Config: map[string]string{"TOKEN_TYPE": "token"}}
		if _, err := e.OnResponse(context.Background(), id, ex); err != nil || !strings.HasPrefix(svc.calls[0], "token ") {
			t.Fatalf("%v %q", err, svc.calls)
		}
	})
	t.Run("no account number continues untouched", func(t *testing.T) {
		for _, b := range []string{`{"account":{}}`, `{"account":{"number":null}}`, `[]`, `{"number":"1"}`, ``} {
			svc := &fakeServices{}
			ex := &Exchange{Body: []byte(b), Services: svc}
			if o, err := e.OnResponse(context.Background(), id, ex); err != nil || o.Ended || ex.Changed() != 0 || len(svc.calls) != 0 {
				t.Fatalf("%q: %+v %v", b, o, err)
			}
		}
	})
	t.Run("vault failure is a ReactorRuntimeError and is logged", func(t *testing.T) {
		svc := &fakeServices{tokenize: func(string, []byte) (string, error) { return "", errors.New("vault sealed") }}
		ex := &Exchange{Body: []byte(body), Services: svc}
		o, err := e.OnResponse(context.Background(), id, ex)
		if err != nil || !o.Ended || o.Kind != ReactorRuntimeError || o.Status != 500 {
			t.Fatalf("%+v %v", o, err)
		}
		if len(svc.logs) == 0 || !strings.Contains(strings.Join(svc.logs, ""), "vault sealed") {
			t.Fatalf("logs = %q", svc.logs)
		}
	})
	t.Run("no services", func(t *testing.T) {
		ex := &Exchange{Body: []byte(body)}
		if o, err := e.OnResponse(context.Background(), id, ex); err != nil || o.Kind != ReactorRuntimeError {
			t.Fatalf("%+v %v", o, err)
		}
	})
	t.Run("request phase has no handler and continues", func(t *testing.T) {
		ex := &Exchange{Body: []byte(body)}
		if o, err := e.OnRequest(context.Background(), id, ex); err != nil || o.Ended || ex.Changed() != 0 {
			t.Fatalf("%+v %v", o, err)
		}
	})
}

func TestExampleHMACSign(t *testing.T) {
	t.Parallel()
	e, ids := examplesEngine(t)
	body := []byte(`{"amount":10}`)
	ex := &Exchange{Body: body, Headers: hdr("X-Signature", "forged", "A", "b"), Config: map[string]string{"HMAC_SECRET": "s3cr3t"}}
	o, err := e.OnRequest(context.Background(), ids["hmac-sign"], ex)
	if err != nil || o.Ended {
		t.Fatalf("%+v %v", o, err)
	}
	if got, want := hdrStrings(ex.Headers), []string{"X-Signature: " + sign("s3cr3t", body), "A: b"}; !slices.Equal(got, want) {
		t.Fatalf("headers = %q, want %q", got, want)
	}
	ex = &Exchange{Body: body}
	if o, err := e.OnRequest(context.Background(), ids["hmac-sign"], ex); err != nil || o.Kind != ReactorRuntimeError ||
		!slices.Equal(o.Messages, []string{"HMAC_SECRET is not configured"}) {
		t.Fatalf("without secret: %+v %v", o, err)
	}
}

func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// TestConcurrentGoGuestCalls runs 64 concurrent calls through a Go guest
// (run it with -race): every result matches its own input.
func TestConcurrentGoGuestCalls(t *testing.T) {
	t.Parallel()
	e, ids := examplesEngine(t)
	const n = 64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				body := []byte(fmt.Sprintf(`{"caller":%d,"round":%d,"pad":%q}`, i, j, strings.Repeat("x", i*10)))
				secret := fmt.Sprintf("secret-%d", i)
				ex := AcquireExchange()
				ex.Body = body
				ex.Config = map[string]string{"HMAC_SECRET": secret}
				o, err := e.OnRequest(context.Background(), ids["hmac-sign"], ex)
				if err != nil || o.Ended {
					errs <- fmt.Errorf("caller %d: %+v %v", i, o, err)
				} else if got := string(ex.HeaderValue("X-Signature")); got != sign(secret, body) {
					errs <- fmt.Errorf("caller %d got another call's signature", i)
				}
				ReleaseExchange(ex)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A Go guest whose heap grew past the high-water mark is replaced after
// its call, off the request path.
func TestInstancesRecycledPastHighWaterMark(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{HighWaterPages: 64, PoolSize: 1, MaxInstances: 1, CallTimeout: 10 * time.Second}) // 4 MiB
	id := compile(t, e, buildExample(t, "require-header"))
	// The guest copies the head into its heap twice: 12 MiB.
	ex := &Exchange{Headers: hdr("X-Customer-Id", strings.Repeat("c", 6<<20))}
	if _, err := e.OnRequest(context.Background(), id, ex); err != nil {
		t.Fatal(err)
	}
	if got := e.Stats().Recycled; got != 1 {
		t.Fatalf("recycled = %d, want 1", got)
	}
	waitFor(t, func() bool { return e.Stats().Instantiations == 2 })
	ex = &Exchange{Headers: hdr("X-Customer-Id", "c_1")}
	if _, err := e.OnRequest(context.Background(), id, ex); err != nil {
		t.Fatal(err)
	}
	if s := e.Stats(); s.RequestPathInstantiations != 0 || s.Recycled != 1 {
		t.Fatalf("stats = %+v", s)
	}
}
