package expr

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
)

func skipAllocUnderRace(t *testing.T) {
	t.Helper()
	if raceEnabled {
		t.Skip("allocation guards are skipped under -race")
	}
}

// TestRenderAlloc: rendering a 1 KB JSON body with 5 tokens into a dst with
// capacity does not allocate.
func TestRenderAlloc(t *testing.T) {
	skipAllocUnderRace(t)
	body := body1KB()
	env := fixtureEnv()
	r := Acquire()
	defer Release(r)
	dst := make([]byte, 0, 4096)
	out, err := r.Render(dst, body, JSON, env)
	if err != nil {
		t.Fatal(err)
	}
	if len(body) < 1000 || len(body) > 1100 || r.Count() != 5 {
		t.Fatalf("fixture: %d bytes, %d expressions", len(body), r.Count())
	}
	if !json.Valid(out) {
		t.Fatalf("output is not JSON: %s", out)
	}
	allocs := testing.AllocsPerRun(200, func() {
		out, err = r.Render(dst[:0], body, JSON, env)
	})
	if err != nil || allocs != 0 {
		t.Fatalf("Render: %v allocs/op, err %v", allocs, err)
	}
}

// TestRenderScannedAlloc: Scan then RenderScanned — the proxy's path — does not allocate, and
// RenderScanned gives what Render gives; another slice with the same bytes is rendered by scanning.
func TestRenderScannedAlloc(t *testing.T) {
	skipAllocUnderRace(t)
	body := body1KB()
	env := fixtureEnv()
	r := Acquire()
	defer Release(r)
	want, err := r.Render(nil, body, JSON, env)
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]byte, 0, 4096)
	if _, err := r.Scan(body, JSON, nil); err != nil {
		t.Fatal(err)
	}
	out, err := r.RenderScanned(dst, body, JSON, env)
	if err != nil || !bytes.Equal(out, want) || r.Count() != 5 {
		t.Fatalf("RenderScanned: %v, %d expressions\n%s\n%s", err, r.Count(), out, want)
	}
	allocs := testing.AllocsPerRun(200, func() {
		r.Scan(body, JSON, nil)
		out, err = r.RenderScanned(dst[:0], body, JSON, env)
	})
	if err != nil || allocs != 0 {
		t.Fatalf("Scan + RenderScanned: %v allocs/op, err %v", allocs, err)
	}
	// Another slice (equal bytes) or another context: not what was scanned, so it is scanned.
	if out, err := r.RenderScanned(nil, bytes.Clone(body), JSON, env); err != nil || !bytes.Equal(out, want) {
		t.Fatalf("copy: %v", err)
	}
	if _, err := r.Scan(body, JSON, nil); err != nil {
		t.Fatal(err)
	}
	textOut, _ := r.Render(nil, body, Text, env)
	r.Scan(body, JSON, nil)
	if out, _ := r.RenderScanned(nil, body, Text, env); !bytes.Equal(out, textOut) {
		t.Fatal("RenderScanned in another context than the scan's")
	}
}

// TestScanAlloc: Scan (package function, pooled Renderer) does not allocate.
func TestScanAlloc(t *testing.T) {
	skipAllocUnderRace(t)
	body := body1KB()
	ids := 0
	fn := func(r Ref) error {
		if r.Kind == RefToken || r.Kind == RefTokenObject {
			ids++
		}
		return nil
	}
	if n, err := Scan(body, JSON, fn); err != nil || n != 5 {
		t.Fatalf("scan: %d, %v", n, err)
	}
	allocs := testing.AllocsPerRun(200, func() {
		_, _ = Scan(body, JSON, fn)
	})
	if allocs != 0 {
		t.Fatalf("Scan: %v allocs/op", allocs)
	}
}

// TestStreamAlloc: streaming does not allocate once the Renderer is warm.
func TestStreamAlloc(t *testing.T) {
	skipAllocUnderRace(t)
	body := bytes.Repeat(body1KB(), 64)
	env := fixtureEnv()
	r := Acquire()
	defer Release(r)
	br := bytes.NewReader(body)
	if _, err := r.Stream(io.Discard, br, JSON, env); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(50, func() {
		br.Reset(body)
		_, _ = r.Stream(io.Discard, br, JSON, env)
	})
	if allocs != 0 {
		t.Fatalf("Stream: %v allocs/op", allocs)
	}
}

// TestFilterChainAlloc: the filters themselves do not allocate (hmac, base64,
// reveal, date_format, casts, JSON paths with escapes in values).
func TestFilterChainAlloc(t *testing.T) {
	skipAllocUnderRace(t)
	src := []byte(`{"a":"{{ num | hmac: 'sha-256', config.KEY | to_base64 }}","b":"{{ dash | reveal: 7, 4, '#', '-' }}",` +
		`"c":"{{ date | date_format('%Y-%m-%d', '%A %d %B %Y') }}","d":"{{ name.dec | to_number }}",` +
		`"e":"{{ text | hmac_sha256('6b6579') | upcase }}","f":"{{ name.last | to_ascii | downcase | pad_left: 12, '*' }}",` +
		`"g":"{{ card | card_exp: 'MM/YY' }}","h":"{{ num | card_mask: true, true, '#' }}","i":"{{ hello | replace: 'l', 'LL' | remove: 'o' }}",` +
		`"j":"{{ name.list | json_stringify | to_base16 }}","k":"{{ name | json: '$.list[2].x' | append: config.NAME }}"}`)
	env := fixtureEnv()
	r := Acquire()
	defer Release(r)
	dst := make([]byte, 0, 4096)
	out, err := r.Render(dst, src, JSON, env)
	if err != nil || !json.Valid(out) {
		t.Fatalf("%v %s", err, out)
	}
	allocs := testing.AllocsPerRun(100, func() {
		_, err = r.Render(dst[:0], src, JSON, env)
	})
	if err != nil || allocs != 0 {
		t.Fatalf("Render with filters: %v allocs/op, err %v", allocs, err)
	}
}
