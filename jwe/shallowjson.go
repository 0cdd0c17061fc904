package jwe

// validShallowJSON reports whether b is a JSON object whose member values are strings, or
// objects whose member values are strings: the only shapes a BT-ENCRYPTED value can take
// (btEntries refuses every other), and the usual shape of a protected header. It accepts a
// subset of what json.Valid accepts (FuzzValidShallowJSONIsJSONValid), in one pass at a few
// instructions a byte; json.Valid's state machine costs several times that on the long JWE
// strings inside.
func validShallowJSON(b []byte) bool {
	i, ok := validObject(b, skipWS(b, 0), 2)
	return ok && skipWS(b, i) == len(b)
}

// validObject checks the object at b[i]; at depth 1 its values must be strings, deeper they
// may also be objects. It returns the index past the object.
func validObject(b []byte, i, depth int) (int, bool) {
	if i >= len(b) || b[i] != '{' {
		return i, false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		end, ok := validString(b, i) // name
		if !ok {
			return end, false
		}
		i = skipWS(b, end)
		if i >= len(b) || b[i] != ':' {
			return i, false
		}
		i = skipWS(b, i+1)
		switch {
		case i < len(b) && b[i] == '"':
			end, ok = validString(b, i)
		case i < len(b) && b[i] == '{' && depth > 1:
			end, ok = validObject(b, i, depth-1)
		default:
			return i, false
		}
		if !ok {
			return end, false
		}
		i = skipWS(b, end)
		if i >= len(b) {
			return i, false
		}
		if b[i] == '}' {
			return i + 1, true
		}
		if b[i] != ',' {
			return i, false
		}
		i = skipWS(b, i+1)
	}
}

// validString checks the JSON string at b[i] — no control bytes, only JSON's escapes — and
// returns the index past its closing quote.
func validString(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return i, false
	}
	for j := i + 1; j < len(b); j++ {
		j += indexStringSpecial(b[j:])
		if j == len(b) {
			break
		}
		switch c := b[j]; {
		case c == '"':
			return j + 1, true
		case c < 0x20:
			return j, false
		case c == '\\':
			j++
			if j >= len(b) {
				return j, false
			}
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(b) || !isHex(b[j+1]) || !isHex(b[j+2]) || !isHex(b[j+3]) || !isHex(b[j+4]) {
					return j, false
				}
				j += 4
			default:
				return j, false
			}
		}
	}
	return len(b), false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
