package transforms

import (
	"bytes"
	"slices"
	"testing"

	"github.com/sluice-edge/sluice/transforms/internal/abi"
)

// FuzzParseHeadersMatchesCheckThenDecode: the one-pass parse of a guest's headers block
// (untrusted guest memory) gives what checking it and then decoding it gives — the same code,
// the same fields and the same rest — and never panics.
func FuzzParseHeadersMatchesCheckThenDecode(f *testing.F) {
	for _, seed := range [][]byte{
		headersBlock("Content-Type", "application/json", "x-tiny", "1"),
		append(headersBlock("A", "b"), "body"...),
		headersBlock("X-A", "a\r\nInjected: 1"),
		headersBlock("Bad Name", "v"),
		headersBlock("", "v"),
		headersBlock("N", "\x7f"),
		headersBlock("N", "obs-text \xff\t"),
		abi.AppendU32(nil, abi.MaxHeaders+1),
		abi.AppendU32(headersBlock("A", "b")[:4], 0xffffffff),
		{0xff, 0xff, 0xff, 0xff},
		{1, 0, 0},
		{},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, gotRest, gotCode := parseHeaders(b, nil)
		count, rest, code := checkHeaders(b)
		if gotCode != code {
			t.Fatalf("parse code %d, check code %d", gotCode, code)
		}
		if code != abi.OK {
			return
		}
		want, _ := decodeHeaders(b, nil, count)
		if !bytes.Equal(gotRest, rest) || len(got) != len(want) {
			t.Fatalf("parse: %d fields, rest %q; check and decode: %d fields, rest %q", len(got), gotRest, len(want), rest)
		}
		for i := range want {
			if !bytes.Equal(got[i].Name, want[i].Name) || !bytes.Equal(got[i].Value, want[i].Value) {
				t.Fatalf("field %d: parse %q: %q, decode %q: %q", i, got[i].Name, got[i].Value, want[i].Name, want[i].Value)
			}
		}
	})
}

// A refused headers block leaves the headers an earlier write of the call set, and the next
// valid one replaces them: the block is checked in the spare arena, never the one the current
// headers are views of.
func TestRefusedHeadersBlockKeepsTheEarlierWrite(t *testing.T) {
	t.Parallel()
	ex := AcquireExchange()
	defer ReleaseExchange(ex)
	for i, step := range []struct {
		block []byte
		code  int32
		want  []string
	}{
		{headersBlock("A", "1", "B", "2"), abi.OK, []string{"A", "1", "B", "2"}},
		{headersBlock("C", "3", "D", "bad\r\nInjected: 1"), abi.ErrInvalid, []string{"A", "1", "B", "2"}},
		{abi.AppendU32(nil, abi.MaxHeaders+1), abi.ErrTooLarge, []string{"A", "1", "B", "2"}},
		{append(headersBlock("E", "5"), "trailing"...), abi.ErrInvalid, []string{"A", "1", "B", "2"}},
		{headersBlock("F", "6"), abi.OK, []string{"F", "6"}},
		{headersBlock("G", "7", "Bad Name", "8"), abi.ErrInvalid, []string{"F", "6"}},
		{headersBlock("H", "8", "I", "9"), abi.OK, []string{"H", "8", "I", "9"}},
	} {
		src := bytes.Clone(step.block)
		if code := ex.replaceHeaders(src); code != step.code {
			t.Fatalf("step %d: code %d, want %d", i, code, step.code)
		}
		clear(src) // guest memory may change after the call: the headers are a copy
		var got []string
		for _, h := range ex.Headers {
			got = append(got, string(h.Name), string(h.Value))
		}
		if !slices.Equal(got, step.want) {
			t.Fatalf("step %d: headers %q, want %q", i, got, step.want)
		}
	}
}
