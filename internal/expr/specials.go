package expr

import "bytes"

// strSpecials finds, in one input, the next byte that matters inside a JSON string: '"', '\\'
// or '{'. Each search is a bytes.IndexByte (vector instructions, tens of bytes per step) for
// one of the three, and the position it finds is remembered until the scan passes it, so that
// every byte of the input is searched at most once per value whatever the scan's steps: a
// string without escapes costs one search for its closing quote, and an input without '\\'
// one search for it in all. One strSpecials serves every expression found in one input
// (Renderer.process), so that many expressions do not mean many searches to the end.
type strSpecials struct {
	src  []byte
	next [3]int // the first '"', '\\', '{' at or after the last search for it; len(src) if none
}

var strSpecialBytes = [3]byte{'"', '\\', '{'}

func newStrSpecials(src []byte) strSpecials {
	return strSpecials{src: src, next: [3]int{-1, -1, -1}}
}

// index returns the index in src of the first '"', '\\' or '{' at or after i, or len(src).
// Successive calls must not decrease i.
func (f *strSpecials) index(i int) int {
	// Most strings are short (keys, small values): a special within the next 16 bytes is found
	// by two words of indexAny3, no search. The memo stays valid: a remembered position at or
	// after i is the first of its byte there, so none lies before what this finds.
	if i+16 <= len(f.src) {
		if j := indexAny3(f.src[i:i+16], '"', '\\', '{'); j < 16 {
			return i + j
		}
	}
	m := len(f.src)
	for k, c := range strSpecialBytes {
		if f.next[k] < i { // passed: no longer the next one
			if j := bytes.IndexByte(f.src[i:], c); j >= 0 {
				f.next[k] = i + j
			} else {
				f.next[k] = len(f.src)
			}
		}
		m = min(m, f.next[k])
	}
	return m
}
