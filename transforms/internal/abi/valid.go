package abi

// ValidHeaderName reports whether s is a non-empty RFC 9110 token.
func ValidHeaderName[T ~string | ~[]byte](s T) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tchar[s[i]] {
			return false
		}
	}
	return true
}

// ValidHeaderValue reports whether s can be sent as a header value: visible
// ASCII, space, horizontal tab and obs-text only, so never CR, LF or NUL.
// Leading and trailing whitespace is allowed (the server may trim it).
func ValidHeaderValue[T ~string | ~[]byte](s T) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if badValueBytes(x) != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		c := s[i]
		if c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// badValueBytes sets the high bit of every byte of x that a header value may not hold: below
// 0x20 but HTAB, or 0x7f. With y the word's low seven bits per byte, y+0x60 has a byte's high
// bit set iff it is 0x20 or more, and e+0x7f (e = y^c) iff it is not c; the sums never carry,
// so each byte's flag is exact, and bytes from 0x80 up (obs-text) are masked out.
func badValueBytes(x uint64) uint64 {
	const (
		ones  = 0x0101010101010101
		low7  = ones * 0x7f
		highs = ones * 0x80
	)
	y := x & low7
	tab, del := y^(ones*'\t'), y^low7
	return (^(y+ones*0x60)&((tab+low7)|tab) | ^((del + low7) | del)) &^ x & highs
}

// tchar marks the bytes of an HTTP token.
var tchar = func() (t [256]bool) {
	for c := range t {
		t[c] = isTchar(byte(c))
	}
	return t
}()

// ValidPath reports whether s can replace the path of a request: empty, or
// starting with '/', with no control characters, whitespace, '?' or '#'.
func ValidPath[T ~string | ~[]byte](s T) bool {
	if len(s) > 0 && s[0] != '/' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == 0x7f || c == '?' || c == '#' {
			return false
		}
	}
	return true
}

// ValidQuery reports whether s can replace the query string (without the
// leading '?'): no control characters, whitespace or '#'.
func ValidQuery[T ~string | ~[]byte](s T) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == 0x7f || c == '#' {
			return false
		}
	}
	return true
}

// ValidStatus reports whether s is a status a response may carry.
func ValidStatus(s int64) bool { return s >= 100 && s <= 599 }

func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}
