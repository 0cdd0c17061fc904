package obs

import (
	"bytes"
	"math"
	"strconv"
	"testing"
)

// FuzzAppendIntMatchesStrconv: the log line's integer encoding writes what strconv does, for
// every int64, after any prefix already in the buffer.
func FuzzAppendIntMatchesStrconv(f *testing.F) {
	for _, v := range []int64{0, 1, 9, 10, 99, 100, 101, 200, 999, 1000, 1024, 65535,
		-1, -10, -100, math.MaxInt64, math.MinInt64, math.MinInt64 + 1} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v int64) {
		prefix := []byte(`"bytes":`)
		want := strconv.AppendInt(bytes.Clone(prefix), v, 10)
		if got := appendInt(bytes.Clone(prefix), v); !bytes.Equal(got, want) {
			t.Fatalf("appendInt(%d) = %q, want %q", v, got, want)
		}
		if v >= 0 {
			if got := appendUint(nil, uint64(v)); string(got) != strconv.FormatUint(uint64(v), 10) {
				t.Fatalf("appendUint(%d) = %q", v, got)
			}
		}
	})
}

// TestAppendUintEveryWidth: each decimal width, at its edges, including the largest uint64.
func TestAppendUintEveryWidth(t *testing.T) {
	for v := uint64(1); ; v *= 10 {
		for _, w := range []uint64{v - 1, v, v + 1, 2*v - 1} {
			if got := appendUint(nil, w); string(got) != strconv.FormatUint(w, 10) {
				t.Fatalf("appendUint(%d) = %q", w, got)
			}
		}
		if v > math.MaxUint64/10 {
			break
		}
	}
	if got := appendUint(nil, math.MaxUint64); string(got) != strconv.FormatUint(math.MaxUint64, 10) {
		t.Fatalf("appendUint(max) = %q", got)
	}
}
