package bench

import (
	"bytes"
	"context"
	"testing"

	"github.com/sluice-edge/sluice/bench/internal/fixture"
	"github.com/sluice-edge/sluice/internal/expr"
	"github.com/sluice-edge/sluice/store"
)

// tokenEnv is an expr.Env over tokens fetched for one request, like the server's: a linear
// search over the few ids a request references.
type tokenEnv struct {
	ids []string
	res store.Resolved
}

func (e *tokenEnv) Token(id []byte) ([]byte, []byte, bool) {
	for i, x := range e.ids {
		if x == string(id) && i < len(e.res.Tokens) && e.res.Tokens[i].Found {
			return e.res.Tokens[i].Data, nil, true
		}
	}
	return nil, nil, false
}
func (e *tokenEnv) Config([]byte) ([]byte, bool) { return nil, false }
func (e *tokenEnv) Encrypted() ([]byte, bool)    { return nil, false }

// detok is the detokenization of one request body, done the way the server does it: scan for
// the distinct ids, resolve them (sealed cache, else one vault read), render into dst. It
// returns the rendered body.
type detok struct {
	st  store.Store
	env tokenEnv
	r   *expr.Renderer
	dst []byte
}

func (d *detok) run(body []byte) ([]byte, error) {
	d.env.ids = d.env.ids[:0]
	d.env.res.Reset()
	_, err := d.r.Scan(body, expr.JSON, func(ref expr.Ref) error {
		for _, id := range d.env.ids {
			if id == string(ref.ID) {
				return nil
			}
		}
		d.env.ids = append(d.env.ids, string(ref.ID))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := d.st.ResolveTokens(context.Background(), d.env.ids, &d.env.res); err != nil {
		return nil, err
	}
	d.dst, err = d.r.RenderScanned(d.dst[:0], body, expr.JSON, &d.env)
	return d.dst, err
}

func body5(tb testing.TB, ids []string) []byte {
	tb.Helper()
	b, err := fixture.Body(fixture.BodySize, fixture.TokenExprs(ids)...)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkExprScan1KB5Tokens: validating the expressions of the request body and collecting
// their token ids (no vault, no output).
func BenchmarkExprScan1KB5Tokens(b *testing.B) {
	body := body5(b, fakeIDs())
	r := expr.Acquire()
	defer expr.Release(r)
	n := 0
	fn := func(expr.Ref) error { n++; return nil }
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := r.Scan(body, expr.JSON, fn); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExprRender1KB5Tokens: rendering the body with the tokens already in memory.
func BenchmarkExprRender1KB5Tokens(b *testing.B) {
	ids := fakeIDs()
	body := body5(b, ids)
	env := &tokenEnv{ids: ids}
	for _, pan := range []string{`"4242424242424242"`, `"5555555555554444"`, `"4000056655665556"`, `"2223003122003222"`, `"6011111111111117"`} {
		env.res.Tokens = append(env.res.Tokens, store.ResolvedToken{Found: true, Data: []byte(pan)})
	}
	r := expr.Acquire()
	defer expr.Release(r)
	dst := make([]byte, 0, 2*len(body))
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := r.Render(dst[:0], body, expr.JSON, env); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDetok1KB5Tokens: scan, one vault read of five tokens and render, with the store's
// token cache warm ("cache") and switched off ("vault"). Audit writes are BenchmarkVaultAudit.
func BenchmarkDetok1KB5Tokens(b *testing.B) {
	for _, mode := range []string{fromCache, fromVault} {
		b.Run(mode, func(b *testing.B) {
			st, ids := openVault(b, mode)
			body := body5(b, ids)
			d := &detok{st: st, r: expr.Acquire(), dst: make([]byte, 0, 2*len(body))}
			defer expr.Release(d.r)
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := d.run(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestDetokRendersTheCards checks the fixture the Detok benchmarks measure: every card lands in
// the body, from the cache and from the vault.
func TestDetokRendersTheCards(t *testing.T) {
	for _, mode := range []string{fromCache, fromVault} {
		t.Run(mode, func(t *testing.T) {
			st, ids := openVault(t, mode)
			d := &detok{st: st, r: expr.Acquire()}
			defer expr.Release(d.r)
			out, err := d.run(body5(t, ids))
			if err != nil {
				t.Fatal(err)
			}
			for _, pan := range fixture.PANs {
				if !bytes.Contains(out, []byte(`"`+pan+`"`)) {
					t.Fatalf("card %s… missing", pan[:4])
				}
			}
			if bytes.Contains(out, []byte("{{")) {
				t.Fatal("expression left in the output")
			}
		})
	}
}

func fakeIDs() []string {
	ids := make([]string, len(fixture.PANs))
	for i := range ids {
		ids[i] = newID(i)
	}
	return ids
}
