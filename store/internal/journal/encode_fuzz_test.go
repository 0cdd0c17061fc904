package journal

import (
	"bytes"
	"testing"
	"time"
)

// appendJSONStringByteLoop is appendJSONString one byte at a time: the reference.
func appendJSONStringByteLoop(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, `\u00`...)
			b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// FuzzAppendJSONStringAgreesWithByteLoop: copying runs whole must escape exactly what the byte
// loop escapes (quotes, backslashes, control bytes, at the ends and back to back).
func FuzzAppendJSONStringAgreesWithByteLoop(f *testing.F) {
	for _, s := range []string{"", "token", `"`, `\`, "a\"b\\c\x00\x1f\x7f", "\n\n", "é\xff", `ends with \`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := appendJSONString([]byte("x"), s), appendJSONStringByteLoop([]byte("x"), s); !bytes.Equal(got, want) {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}

// FuzzSecondStampMatchesRFC3339Nano: the cached second must give time.RFC3339Nano's text for
// a sequence of times (same second, next second, earlier, trailing zeros, other zones).
func FuzzSecondStampMatchesRFC3339Nano(f *testing.F) {
	f.Add(int64(1796470000), int64(123456789), int64(0), int64(100), false)
	f.Add(int64(1796470000), int64(0), int64(1), int64(999999999), false)
	f.Add(int64(-62135596800), int64(10), int64(-1), int64(5), false)
	f.Add(int64(253402300799), int64(1), int64(0), int64(0), true)
	f.Fuzz(func(t *testing.T, sec, ns, dsec, dns int64, zoned bool) {
		var c secondStamp
		ns, dns = ns%1e9, dns%1e9
		for _, tm := range []time.Time{time.Unix(sec, ns), time.Unix(sec, ns), time.Unix(sec, dns), time.Unix(sec+dsec, dns), time.Unix(sec, ns)} {
			tm = tm.UTC()
			if zoned {
				tm = tm.In(time.FixedZone("x", 3600))
			}
			if got, want := c.appendRFC3339Nano(nil, tm), tm.AppendFormat(nil, time.RFC3339Nano); !bytes.Equal(got, want) {
				t.Fatalf("%v: %s, want %s", tm, got, want)
			}
		}
	})
}

// TestIndexJSONEscapedEveryByteEveryLane: every byte value in every lane of a word, beside plain
// and beside escaped bytes, is found exactly where the table finds it.
func TestIndexJSONEscapedEveryByteEveryLane(t *testing.T) {
	for _, fill := range []byte{'a', '"', 0x1f, 0xff, 0x80} {
		for lane := range 8 {
			for c := range 256 {
				w := bytes.Repeat([]byte{fill}, 9)
				w[lane] = byte(c)
				want := 0
				for want < len(w) && !jsonEscaped[w[want]] {
					want++
				}
				if got := indexJSONEscaped(string(w)); got != want {
					t.Fatalf("indexJSONEscaped(%q) = %d, want %d", w, got, want)
				}
			}
		}
	}
}
