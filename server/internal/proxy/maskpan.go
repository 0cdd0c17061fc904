package proxy

import (
	"bytes"
	"unicode/utf8"

	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/server/internal/vault"
)

// matcherPAN is Basis Theory's mask matcher for card numbers in Chase Stratus messages. Stratus
// records are fixed-width text whose layout BT does not publish, so the matcher masks every card
// number it can recognise anywhere in the body: a run of 13–19 digits, not part of a longer run,
// that passes the Luhn check. It masks at least what a layout-aware matcher would.
const matcherPAN = "chase_stratus_pan"

// validatePANMask checks a chase_stratus_pan mask: no expression (the matcher is the pattern) and
// a short replacement, "*" by default.
func validatePANMask(t *Transform, field string) error {
	if t.Expression != "" {
		return edge.Invalid(field, `a "chase_stratus_pan" mask takes no expression`)
	}
	if t.Replacement == "" {
		t.Replacement = "*"
	}
	if len(t.Replacement) > 16 || !utf8.ValidString(t.Replacement) {
		return edge.Invalid(field, "mask replacement is at most 16 bytes of UTF-8")
	}
	return nil
}

// maskPANs replaces each digit of every card number in body with replacement, in one pass. It
// fails (false) past maxMaskMatches numbers, like the regex matcher.
func maskPANs(body []byte, replacement string) ([]byte, bool) {
	var out []byte
	last, found := 0, 0
	for i := 0; i < len(body); {
		if !isDigit(body[i]) {
			i++
			continue
		}
		j := i
		for j < len(body) && isDigit(body[j]) {
			j++
		}
		if n := j - i; n >= 13 && n <= 19 && vault.Luhn(string(body[i:j])) {
			if found++; found > maxMaskMatches {
				return nil, false
			}
			if out == nil {
				out = make([]byte, 0, len(body)+n*(len(replacement)-1))
			}
			out = append(out, body[last:i]...)
			out = append(out, bytes.Repeat([]byte(replacement), n)...)
			last = j
		}
		i = j
	}
	if out == nil {
		return body, true
	}
	return append(out, body[last:]...), true
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }
