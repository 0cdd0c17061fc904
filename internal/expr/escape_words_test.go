package expr

import (
	"bytes"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// The byte loops the word-at-a-time versions must agree with.

func refAppendJSONEscaped(out, s []byte) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f {
				i++
				continue
			}
			out = append(out, s[start:i]...)
			switch c {
			case '"', '\\':
				out = append(out, '\\', c)
			case '\n':
				out = append(out, '\\', 'n')
			case '\r':
				out = append(out, '\\', 'r')
			case '\t':
				out = append(out, '\\', 't')
			case '\b':
				out = append(out, '\\', 'b')
			case '\f':
				out = append(out, '\\', 'f')
			default:
				out = append(out, '\\', 'u', '0', '0', hexLower[c>>4], hexLower[c&15])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			out = append(out, s[start:i]...)
			out = append(out, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			out = append(out, s[start:i]...)
			out = append(out, '\\', 'u', '2', '0', '2', hexLower[r&15])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(out, s[start:]...)
}

func refAppendUnescapeJSON(out, s []byte) ([]byte, bool) {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(s) {
			return out, false
		}
		switch s[i+1] {
		case '"', '\\', '/':
			out = append(out, s[i+1])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(s[i+2:])
			if !ok {
				return out, false
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if r2, ok := hex4(s[i+2:]); ok {
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							out = utf8.AppendRune(out, d)
							i += 6
							continue
						}
					}
				}
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
			continue
		default:
			return out, false
		}
		i += 2
	}
	return out, true
}

func refAppendUnquoteJSON(out, raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return out, false
	}
	body := raw[1 : len(raw)-1]
	for _, c := range body {
		if c < 0x20 {
			return out, false
		}
	}
	return refAppendUnescapeJSON(out, body)
}

var escapeSeeds = []string{
	"", "4242424242424242", `a"b\\c`, "tab\there\n", "\x00\x1f\x7f\x80\xff", "é ü \u2028 \u2029 \xe2\x80",
	`\u00e9\ud83d\ude00\ud800x\/\b\f`, `\`, `\u12`, `\q`, "plain ascii text of some length, longer than eight",
	"0123456\"789abcdef", "01234567\x7f9abcdef", "~~~~~~~~\x7f", "\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\xff",
}

func checkEscapes(t *testing.T, s []byte) {
	t.Helper()
	if got, want := appendJSONEscaped([]byte("p"), s), refAppendJSONEscaped([]byte("p"), s); !bytes.Equal(got, want) {
		t.Fatalf("appendJSONEscaped(%q) = %q, want %q", s, got, want)
	}
	got, ok := appendUnescapeJSON([]byte("p"), s)
	want, wantOK := refAppendUnescapeJSON([]byte("p"), s)
	if ok != wantOK || ok && !bytes.Equal(got, want) {
		t.Fatalf("appendUnescapeJSON(%q) = %q, %v; want %q, %v", s, got, ok, want, wantOK)
	}
	q := append(append([]byte{'"'}, s...), '"')
	got, ok = appendUnquoteJSON(nil, q)
	want, wantOK = refAppendUnquoteJSON(nil, q)
	if ok != wantOK || ok && !bytes.Equal(got, want) {
		t.Fatalf("appendUnquoteJSON(%q) = %q, %v; want %q, %v", q, got, ok, want, wantOK)
	}
	wantIdx := len(s)
	for i, c := range s {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			wantIdx = i
			break
		}
	}
	if got := indexJSONEscape(s); got != wantIdx {
		t.Fatalf("indexJSONEscape(%q) = %d, want %d", s, got, wantIdx)
	}
	if got := hasC0(s); got != hasC0Ref(s) {
		t.Fatalf("hasC0(%q) = %v", s, got)
	}
}

func hasC0Ref(s []byte) bool {
	for _, c := range s {
		if c < 0x20 {
			return true
		}
	}
	return false
}

// TestEscapesAgreeWithByteLoops: every byte value at every position of runs of 0..17 plain bytes
// (the word steps and the tails), for the escaper, the unescaper, the unquoter and the word
// scans under them.
func TestEscapesAgreeWithByteLoops(t *testing.T) {
	for _, s := range escapeSeeds {
		checkEscapes(t, []byte(s))
	}
	for _, fill := range []byte{'a', ' ', '~', '!', '[', ']'} {
		for n := 1; n <= 17; n++ {
			for pos := 0; pos < n; pos++ {
				for c := 0; c < 256; c++ {
					s := bytes.Repeat([]byte{fill}, n)
					s[pos] = byte(c)
					checkEscapes(t, s)
				}
			}
		}
	}
}

// FuzzEscapesAgreeWithByteLoops: the same on any input.
func FuzzEscapesAgreeWithByteLoops(f *testing.F) {
	for _, s := range escapeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkEscapes)
}
