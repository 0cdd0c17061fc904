package expr

import (
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
)

// messageEnv is a testEnv that also supplies message documents and transform tokens.
type messageEnv struct {
	testEnv
	docs   map[string][]byte // by source name
	tokens map[string][]byte // by transform identifier
}

func (e *messageEnv) Message(kind RefKind, name []byte) ([]byte, bool) {
	m := e.docs
	if kind == RefTransform {
		m = e.tokens
	}
	d, ok := m[string(name)]
	return d, ok
}

func newMessageEnv() *messageEnv {
	return &messageEnv{
		testEnv: testEnv{data: bmap(map[string]string{"res": `"a token named res"`}), cfg: bmap(map[string]string{"K": "key"})},
		docs: bmap(map[string]string{
			"res":      `{"card":"5555555555554444","n":[1,2]}`,
			"response": `{"card":"5555555555554444","n":[1,2]}`,
			"request":  `{"card":"4242424242424242"}`,
			"proxy":    `{"request":{"headers":{"X-Date":"2026-12-05"},"body":"{\"a\":1}"}}`,
		}),
		tokens: bmap(map[string]string{"card": `{"id":"tok-1","type":"card_number"}`}),
	}
}

func renderMessage(t *testing.T, src string, on bool, env Env) (string, error) {
	t.Helper()
	r := Acquire()
	defer Release(r)
	r.SetMessageSources(on)
	if _, err := r.Scan([]byte(src), Text, nil); err != nil {
		return "", err
	}
	out, err := r.Render(nil, []byte(src), Text, env)
	return string(out), err
}

func TestMessageSourcesResolveInTransformValues(t *testing.T) {
	for _, c := range []struct{ name, src, want string }{
		{"res json", `{{ res | json: '$.card' }}`, "5555555555554444"},
		{"response alias", `{{ response | json: '$.n[1]' }}`, "2"},
		{"request json", `{{ request | json: '$.card' | last4 }}`, "4242"},
		{"proxy header", `{{ proxy | json: '$.request.headers.X-Date' }}`, "2026-12-05"},
		{"proxy body", `{{ proxy | json: '$.request.body' }}`, `{"a":1}`},
		{"transform_identifier quoted", `{{ transform_identifier: 'card' | json: '$.id' }}`, "tok-1"},
		{"transform_identifier double quoted", `{{ transform_identifier: "card" | json: '$.type' }}`, "card_number"},
		{"transform_identifier bare", `{{ transform_identifier: card | json: '$.id' }}`, "tok-1"},
		{"dotted path", `{{ res.card }}`, "5555555555554444"},
		{"hmac of the proxy body", `{{ proxy | json: '$.request.body' | hmac: 'sha256', config.K | to_base16 }}`, strings.ToUpper(hmacHex(sha256.New, "key", `{"a":1}`))},
		{"proxy.request arguments", `{{ proxy | json: '$.request.headers.X-Date' | append: proxy.request.body | append: proxy.request.headers.Missing }}`, `2026-12-05{"a":1}`},
		{"BT signing", `{{ proxy | json: '$.request.headers.X-Date' | append: proxy.request.body | hmac: 'sha-256', proxy.config.K | to_base16 }}`, strings.ToUpper(hmacHex(sha256.New, "key", `2026-12-05{"a":1}`))},
		{"hmac key from the request", `{{ res | json: '$.card' | hmac: 'sha-256', proxy.request.headers.X-Date | to_base16 }}`, strings.ToUpper(hmacHex(sha256.New, "2026-12-05", "5555555555554444"))},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := renderMessage(t, c.src, true, newMessageEnv())
			if err != nil || got != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

// Outside transform values the words stay token ids: a token may be called "res".
func TestMessageSourcesOffAreTokenIDs(t *testing.T) {
	got, err := renderMessage(t, `{{ res }}`, false, newMessageEnv())
	if err != nil || got != "a token named res" {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := renderMessage(t, `{{ transform_identifier: 'card' }}`, false, newMessageEnv()); !errors.Is(err, ErrSyntax) {
		t.Fatalf("transform_identifier without message sources: %v", err)
	}
}

func TestRejectMessageSourceTheEnvLacks(t *testing.T) {
	for _, c := range []struct {
		name, src string
		env       Env
	}{
		{"identifier never created", `{{ transform_identifier: 'other' | json: '$.id' }}`, newMessageEnv()},
		{"plain Env", `{{ res | json: '$.card' }}`, &testEnv{}},
		{"proxy.request argument with a plain Env", `{{ K | append: proxy.request.body }}`, &testEnv{data: bmap(map[string]string{"K": `"k"`})}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := renderMessage(t, c.src, true, c.env)
			if !errors.Is(err, ErrUnknownSource) {
				t.Fatalf("got %v, want ErrUnknownSource", err)
			}
		})
	}
}

func TestRejectMalformedTransformIdentifier(t *testing.T) {
	for _, src := range []string{`{{ transform_identifier: }}`, `{{ transform_identifier: 'card }}`, `{{ transform_identifier: 'ca rd' }}`} {
		t.Run(src, func(t *testing.T) {
			if _, err := renderMessage(t, src, true, newMessageEnv()); !errors.Is(err, ErrSyntax) {
				t.Fatalf("got %v, want ErrSyntax", err)
			}
		})
	}
}

// A message document over MaxSourceLen would break the parse-time bound of the filters.
func TestRejectOversizeMessageDocument(t *testing.T) {
	env := newMessageEnv()
	env.docs["res"] = []byte(`"` + strings.Repeat("a", MaxSourceLen) + `"`)
	r := Acquire()
	defer Release(r)
	r.SetMessageSources(true)
	r.SetLimits(Limits{MaxExpansion: 64 << 20})
	if _, err := r.Render(nil, []byte(`{{ res | size }}`), Text, env); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
}

// proxy.request.… arguments are arguments of string type only, and only with message sources.
func TestRejectProxyRequestArgumentMisuse(t *testing.T) {
	for _, c := range []struct {
		src string
		on  bool
	}{
		{`{{ res | split: proxy.request.body }}`, true},
		{`{{ res | slice: proxy.request.body }}`, true},
		{`{{ res | hmac_sha256: proxy.request.body }}`, true},
		{`{{ res | append: proxy.request.body }}`, false},
	} {
		t.Run(c.src, func(t *testing.T) {
			_, err := renderMessage(t, c.src, c.on, newMessageEnv())
			if !errors.Is(err, ErrArgs) && !errors.Is(err, ErrSyntax) {
				t.Fatalf("got %v, want a refused argument", err)
			}
		})
	}
}

// FuzzMessageSources renders arbitrary transform values with message sources on: never a panic,
// every error an *Error, and a value that renders renders the same twice.
func FuzzMessageSources(f *testing.F) {
	for _, s := range []string{
		`{{ res | json: '$.card' }}`, `{{ transform_identifier: 'card' | json: '$.id' }}`, `{{ transform_identifier: "x }}`,
		`{{ proxy | json: '$.request.headers.X-Date' | append: proxy.request.body | hmac: 'sha-256', proxy.config.K | to_base16 }}`,
		`{{ request.card | append: proxy.request }}`, `{{ transform_identifier: }}`, `{{ proxy.request.body }}`, `{{ res | default: proxy.request.x }}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		r := Acquire()
		defer Release(r)
		r.SetMessageSources(true)
		first, err := r.Render(nil, []byte(src), Text, newMessageEnv())
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		again, err := r.Render(nil, []byte(src), Text, newMessageEnv())
		if err != nil || string(again) != string(first) {
			t.Fatalf("second render %q, %v; first %q", again, err, first)
		}
	})
}
