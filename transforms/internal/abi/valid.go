package abi

// ValidHeaderName reports whether s is a non-empty RFC 9110 token.
func ValidHeaderName[T ~string | ~[]byte](s T) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTchar(s[i]) {
			return false
		}
	}
	return true
}

// ValidHeaderValue reports whether s can be sent as a header value: visible
// ASCII, space, horizontal tab and obs-text only, so never CR, LF or NUL.
// Leading and trailing whitespace is allowed (the server may trim it).
func ValidHeaderValue[T ~string | ~[]byte](s T) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

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
