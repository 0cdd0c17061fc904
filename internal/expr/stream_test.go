package expr

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

// chunkReader returns src in chunks of random sizes (1..max), with an
// occasional empty read.
type chunkReader struct {
	src []byte
	rng *rand.Rand
	max int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.src) == 0 {
		return 0, io.EOF
	}
	if c.rng.IntN(20) == 0 {
		return 0, nil
	}
	n := 1 + c.rng.IntN(c.max)
	n = min(n, len(p), len(c.src))
	copy(p, c.src[:n])
	c.src = c.src[n:]
	return n, nil
}

// exprPool are expressions over fixtureEnv, valid and invalid.
var exprPool = []string{
	"{{ num }}", "{{ card }}", "{{ card.number | last4 }}", "{{ token: card | json: '$.data.cvc' }}",
	"{{ name.list }}", "{{ name.first | upcase }}", "{{ card.expiration_month | to_number }}",
	"{{ config: NAME }}", "{{ encrypted.data.number }}", `{{ hello | replace(\,, ;) }}`,
	"{{ name.nick }}", "{{ name.t | to_boolean }}", "{{ dash | reveal: 7, 4, '#', '-' }}",
	"%7B%7B+num+%7C+last4+%7D%7D", "{{%20s1234%20}}", "{{ nope }}", "{{ num | bad }}", "{{ num",
	`{{ name | json: \"$.first\" }}`,
}

var fragPool = []string{
	`{"a":`, `"`, `"x`, `\"`, `\\`, `,`, `:`, `}`, `]`, `[`, `{`, ` `, "\n", `{{`, `}}`, `%7B`, `%7D`,
	`abc`, `=`, `&`, `+`, `%`, `"k":"`, `1`, `true`,
}

func randomBody(rng *rand.Rand, n int) []byte {
	var b bytes.Buffer
	for range n {
		if rng.IntN(3) == 0 {
			if rng.IntN(3) == 0 {
				b.WriteByte('"')
			}
			b.WriteString(exprPool[rng.IntN(len(exprPool))])
			if rng.IntN(3) == 0 {
				b.WriteByte('"')
			}
		} else {
			b.WriteString(fragPool[rng.IntN(len(fragPool))])
		}
	}
	return b.Bytes()
}

// streamAll renders src through Stream with a chunking reader.
func streamAll(t testing.TB, src []byte, ctx Context, env Env, rd io.Reader) ([]byte, error) {
	t.Helper()
	r := Acquire()
	defer Release(r)
	var out bytes.Buffer
	n, err := r.Stream(&out, rd, ctx, env)
	if n != int64(out.Len()) {
		t.Fatalf("Stream reported %d bytes, wrote %d", n, out.Len())
	}
	return out.Bytes(), err
}

// readAll renders src through Reader, reading with small buffers.
func readAll(t testing.TB, ctx Context, env Env, rd io.Reader, rng *rand.Rand) ([]byte, error) {
	t.Helper()
	r := Acquire()
	defer Release(r)
	sr := r.Reader(rd, ctx, env)
	var out []byte
	buf := make([]byte, 64)
	for {
		n, err := sr.Read(buf[:1+rng.IntN(len(buf))])
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

func sameResult(t *testing.T, what string, src []byte, want []byte, werr error, got []byte, gerr error) {
	t.Helper()
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("%s: render err %v, got err %v\nbody %q", what, werr, gerr, src)
	}
	if werr != nil {
		var we, ge *Error
		if !errors.As(werr, &we) || !errors.As(gerr, &ge) || !errors.Is(gerr, we.Err) || we.Offset != ge.Offset {
			t.Fatalf("%s: render err %v, got %v\nbody %q", what, werr, gerr, src)
		}
		return
	}
	if !bytes.Equal(want, got) {
		t.Fatalf("%s: output differs\nbody %q\nrender %q\ngot    %q", what, src, want, got)
	}
}

// TestStreamEqualsRender is a property test: for random bodies, contexts and
// chunkings, Stream and Reader give exactly what Render gives (or the same
// error at the same offset).
func TestStreamEqualsRender(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	env := fixtureEnv()
	iters := 400
	if testing.Short() {
		iters = 100
	}
	for i := range iters {
		src := randomBody(rng, 1+rng.IntN(60))
		ctx := Context(i % int(Body+1))
		want, werr := func() ([]byte, error) {
			r := Acquire()
			defer Release(r)
			return r.Render(nil, src, ctx, env)
		}()
		got, gerr := streamAll(t, src, ctx, env, &chunkReader{src: src, rng: rng, max: 1 + rng.IntN(16)})
		sameResult(t, "stream "+ctx.String(), src, want, werr, got, gerr)
		got, gerr = streamAll(t, src, ctx, env, iotest.OneByteReader(bytes.NewReader(src)))
		sameResult(t, "one-byte stream "+ctx.String(), src, want, werr, got, gerr)
		got, gerr = readAll(t, ctx, env, &chunkReader{src: src, rng: rng, max: 7}, rng)
		sameResult(t, "reader "+ctx.String(), src, want, werr, got, gerr)
	}
}

// TestStreamChunkBoundaries splits bodies at every position.
func TestStreamChunkBoundaries(t *testing.T) {
	env := fixtureEnv()
	bodies := []struct {
		ctx  Context
		body string
	}{
		{JSON, `{"card":"{{ card }}","n":"{{ card.expiration_month | to_number }}","s":"x{{ num }}y","k":{"{{ s1234 }}":{{ name.list }}}}`},
		{JSON, `["{{ name.nick }}", "\"{{ num }}\"", "{{ name | json: \"$.first\" }}"]`},
		{Form, `a=%7B%7B+num+%7C+last4+%7D%7D&b={{ hello }}&c=%7b%7Bs1234%7D%7d`},
		{Text, `x{{num}}y{{ card.cvc }}z{`},
		{Body, `{"q":"\"{{ name.quote }}\\","n":{{ num }},"s":"{{ name | json: \"$.first\" }}"} "x{{ name.list }}"`},
	}
	for _, b := range bodies {
		want, err := render(t, b.body, b.ctx, env)
		if err != nil {
			t.Fatal(err)
		}
		for cut := 0; cut <= len(b.body); cut++ {
			rd := io.MultiReader(strings.NewReader(b.body[:cut]), strings.NewReader(b.body[cut:]))
			got, err := streamAll(t, []byte(b.body), b.ctx, env, rd)
			if err != nil || string(got) != want {
				t.Fatalf("cut at %d: got %q, %v; want %q", cut, got, err, want)
			}
		}
	}
}

// TestStreamExpressionAtMaxLen: an expression of exactly MaxExprLen bytes
// streams; one byte more is ErrTooLong, whatever the chunking.
func TestStreamExpressionAtMaxLen(t *testing.T) {
	env := fixtureEnv()
	pad := MaxExprLen - len("{{ num }}")
	ok := "{{ num" + strings.Repeat(" ", pad) + " }}"
	bad := "{{ num" + strings.Repeat(" ", pad+1) + " }}"
	if len(ok) != MaxExprLen {
		t.Fatal(len(ok))
	}
	big := strings.Repeat("x", streamChunk-3)
	for _, prefix := range []string{"", big} {
		got, err := streamAll(t, nil, Text, env, strings.NewReader(prefix+ok+prefix))
		if err != nil || string(got) != prefix+"4242424242424242"+prefix {
			t.Fatalf("max-length expression: %v", err)
		}
		_, err = streamAll(t, nil, Text, env, strings.NewReader(prefix+bad))
		if !errors.Is(err, ErrTooLong) {
			t.Fatalf("over-long expression: %v", err)
		}
	}
}

type failReader struct{ err error }

func (f failReader) Read([]byte) (int, error) { return 0, f.err }

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("boom") }

func TestStreamErrors(t *testing.T) {
	env := fixtureEnv()
	r := Acquire()
	defer Release(r)
	rerr := errors.New("read failed")
	if _, err := r.Stream(io.Discard, failReader{rerr}, Text, env); err != rerr {
		t.Fatalf("read error: %v", err)
	}
	if _, err := r.Stream(io.Discard, failReader{nil}, Text, env); err != io.ErrNoProgress {
		t.Fatalf("no progress: %v", err)
	}
	if _, err := r.Stream(failWriter{}, strings.NewReader("abc"), Text, env); err == nil || err.Error() != "boom" {
		t.Fatalf("write error: %v", err)
	}
	n, err := r.Stream(io.Discard, strings.NewReader("a {{ nope }}"), Text, env)
	if !errors.Is(err, ErrUnknownToken) || n != 0 {
		t.Fatalf("got %d, %v", n, err)
	}
	// Empty input.
	if n, err := r.Stream(io.Discard, strings.NewReader(""), JSON, env); n != 0 || err != nil {
		t.Fatalf("empty: %d %v", n, err)
	}
}

// body1KB is a ~1 KB JSON payment request with 5 expressions.
func body1KB() []byte {
	b := []byte(`{"payment_method":{"credit_card":{` +
		`"number":"{{ card | json: '$.number' }}",` +
		`"month":"{{ card | json: '$.expiration_month' | pad_left: 2, '0' }}",` +
		`"year":"{{ card.expiration_year }}",` +
		`"verification_value":"{{ token: card | json: '$.data.cvc' }}",` +
		`"full_name":"{{ name.first }}"},` +
		`"retained":true,"email":"someone@example.com","metadata":{"order_id":"ord_8c1e5d3f","channel":"web",` +
		`"note":"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua."},` +
		`"billing_address":{"line1":"175 5th Ave","line2":"Suite 200","city":"New York","state":"NY","zip":"10010","country":"US"},` +
		`"shipping_address":{"line1":"1 Infinite Loop","city":"Cupertino","state":"CA","zip":"95014","country":"US"},` +
		`"items":[{"sku":"sku_001","qty":1,"price":1999},{"sku":"sku_002","qty":2,"price":599},{"sku":"sku_003","qty":1,"price":12999}],` +
		`"flags":{"three_ds":false,"recurring":true,"moto":false},"description":"Order placed through the storefront checkout",`)
	for len(b) < 1020 {
		b = append(b, `"p":0,`...)
	}
	return append(b, `"end":1}}`...)
}

// repeatReader yields body over and over until n bytes.
type repeatReader struct {
	body []byte
	off  int
	left int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && r.left > 0 {
		c := copy(p[n:], r.body[r.off:])
		if int64(c) > r.left {
			c = int(r.left)
		}
		n += c
		r.left -= int64(c)
		r.off = (r.off + c) % len(r.body)
	}
	return n, nil
}

// memWriter counts bytes and samples the heap every 8 MiB.
type memWriter struct {
	n, next  int64
	maxHeap  uint64
	maxAlloc uint64
}

func (w *memWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	if w.n >= w.next {
		w.next += 8 << 20
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		w.maxHeap = max(w.maxHeap, ms.HeapInuse)
		w.maxAlloc = max(w.maxAlloc, ms.TotalAlloc)
	}
	return len(p), nil
}

// TestStream100MBFlatMemory streams a 100 MB JSON body (100k copies of the
// 1 KB request, 500k expressions) and checks the heap stays flat.
func TestStream100MBFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("100 MB stream skipped in -short mode")
	}
	body := body1KB() // each copy is a complete object, so the JSON state stays meaningful
	env := fixtureEnv()
	const size = 100 << 20
	r := Acquire()
	defer Release(r)
	r.SetLimits(Limits{MaxExprs: 1 << 30, MaxExpansion: 1 << 40})
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	w := &memWriter{}
	n, err := r.Stream(w, &repeatReader{body: body, left: size}, JSON, env)
	if err != nil {
		t.Fatal(err)
	}
	if r.Count() < size/len(body)*5 {
		t.Fatalf("only %d expressions rendered", r.Count())
	}
	growth := int64(w.maxHeap) - int64(before.HeapInuse)
	allocated := w.maxAlloc - before.TotalAlloc
	t.Logf("streamed %d MB → %d MB, %d expressions; HeapInuse growth %d KB, allocated %d KB",
		size>>20, n>>20, r.Count(), growth>>10, allocated>>10)
	if growth > 16<<20 {
		t.Fatalf("HeapInuse grew by %d MB", growth>>20)
	}
	if allocated > 16<<20 {
		t.Fatalf("allocated %d MB while streaming", allocated>>20)
	}
}

// TestStreamTrickleIsLinear: a body delivered one byte per Read, full of
// long expressions, is scanned a bounded number of times (no rescanning of
// the carry-over per byte: CPU amplification for a trickling client).
func TestStreamTrickleIsLinear(t *testing.T) {
	env := fixtureEnv()
	one := "{{ num" + strings.Repeat(" ", MaxExprLen-20) + " }}" + `"{{` + strings.Repeat(" ", 100) + "num}}"
	body := strings.Repeat(one, 40)
	r := Acquire()
	defer Release(r)
	if _, err := r.Stream(io.Discard, iotest.OneByteReader(strings.NewReader(body)), Text, env); err != nil {
		t.Fatal(err)
	}
	if r.scanned > 8*int64(len(body)) {
		t.Fatalf("scanned %d bytes for a %d-byte body", r.scanned, len(body))
	}
}
