package server

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sluice-edge/sluice/server/internal/proxy"
)

// TestRejectTooManyExpressionsStreamed: the expressions-per-body limit holds however the body
// comes — chunked (read whole: refused before anything is sent) or bigger than the whole-body
// limit (streamed: refused when the expression over the limit is met, and the destination never
// gets a complete body). Exactly the limit passes.
func TestRejectTooManyExpressionsStreamed(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	id := e.token(e.adminKey, map[string]any{"data": "v"})
	limit := e.srv.cfg.Limits.ExpressionsPerBody
	const marker = "END-OF-BODY"
	body := func(n int, big bool) []byte {
		var b bytes.Buffer
		if big {
			b.WriteString(strings.Repeat("x", proxy.BufferLimit))
		}
		b.WriteString(strings.Repeat("{{ "+id+" }}", n))
		b.WriteString(marker)
		return b.Bytes()
	}
	cases := []struct {
		name         string
		big, chunked bool
	}{
		{"chunked", false, true},
		{"streamed with a length", true, false},
		{"streamed chunked", true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(dest.requests())
			p := e.sendBody(dest, "text/plain", body(limit+1, tc.big), tc.chunked).expectProblem(t, 400, true)
			if !strings.Contains(p["errors"].(map[string]any)["expression"].([]any)[0].(string), "more than") {
				t.Fatalf("not the expression limit: %v", p)
			}
			for _, r := range dest.requests()[before:] {
				if bytes.HasSuffix(r.body, []byte(marker)) {
					t.Fatal("a body over the expression limit reached the destination whole")
				}
			}
			if !tc.big && len(dest.requests()) != before {
				t.Fatal("a body read whole reached the destination although it was refused")
			}
			e.sendBody(dest, "text/plain", body(limit, tc.big), tc.chunked).expect(t, 200)
			// The refused streamed request may reach the destination cut, and after this one:
			// look for the rendered body among everything received since, not at the last.
			want := []byte(strings.Repeat("v", limit) + marker)
			rendered := false
			for _, r := range dest.requests()[before:] {
				rendered = rendered || bytes.HasSuffix(r.body, want)
			}
			if !rendered {
				got := dest.last(t).body
				t.Fatalf("the limit's worth of expressions was not rendered: …%s", got[max(0, len(got)-40):])
			}
		})
	}
}

// TestRejectHeaderControlCharacters: a token whose value holds a control character other than
// HTAB (VT, FF, DEL, NEL, a C1 CSI, CR/LF, NUL) never reaches a header: 400 proxy_error naming
// the expression, never the value, and nothing is forwarded. HTAB and other Unicode pass.
func TestRejectHeaderControlCharacters(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	for _, c := range []string{"\v", "\f", "\x7f", "\u0085", "\u009b", "\r\n", "\x00", "\x1b"} {
		v := "SECRET" + c + "X-Evil: 1"
		id := e.token(e.adminKey, map[string]any{"data": v})
		before := len(dest.requests())
		r := e.sendBody(dest, "application/json", []byte(`{}`), false, "X-Name", "Bearer {{ "+id+" }}")
		p := r.expectProblem(t, 400, true)
		msg := p["errors"].(map[string]any)["headers"].([]any)[0].(string)
		if !strings.Contains(msg, "{{ "+id+" }}") {
			t.Fatalf("%q: the error does not name the expression: %s", c, r.body)
		}
		if bytes.Contains(r.body, []byte("SECRET")) || bytes.Contains(r.body, []byte("Evil")) {
			t.Fatalf("%q: the error shows the value: %s", c, r.body)
		}
		if len(dest.requests()) != before {
			t.Fatalf("%q: forwarded", c)
		}
	}
	id := e.token(e.adminKey, map[string]any{"data": "a\tb é €"})
	e.sendBody(dest, "application/json", []byte(`{}`), false, "X-Name", "Bearer {{ "+id+" }}").expect(t, 200)
	if got := dest.last(t).header.Get("X-Name"); got != "Bearer a\tb é €" {
		t.Fatalf("X-Name %q", got)
	}
}
