package proxy

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sluice-edge/sluice/server/internal/vault"
)

// FuzzMaskPANs: the chase_stratus_pan matcher changes nothing but digits, keeps the length (for a
// one-byte replacement), and leaves no Luhn-valid 13–19-digit run in its output.
func FuzzMaskPANs(f *testing.F) {
	for _, s := range []string{"", "4242424242424242", "x4242424242424242y", "42424242424242424", "4242 4242 4242 4242",
		"P4242424242424242 0412 000001999", "12345678901234567890123", strings.Repeat("4242424242424242,", 50)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		out, ok := maskPANs(body, "*")
		if !ok {
			return
		}
		if len(out) != len(body) {
			t.Fatalf("length %d, want %d", len(out), len(body))
		}
		for i := range body {
			if out[i] != body[i] && !(isDigit(body[i]) && out[i] == '*') {
				t.Fatalf("byte %d changed from %q to %q", i, body[i], out[i])
			}
		}
		for _, run := range bytes.FieldsFunc(out, func(r rune) bool { return r < '0' || r > '9' }) {
			if len(run) >= 13 && len(run) <= 19 && vault.Luhn(string(run)) {
				t.Fatalf("a card number is left: %s", run)
			}
		}
	})
}

// TestMaskPANsCapsMatches: past maxMaskMatches card numbers the mask fails rather than work on.
func TestMaskPANsCapsMatches(t *testing.T) {
	body := []byte(strings.Repeat("4242424242424242 ", maxMaskMatches+1))
	if _, ok := maskPANs(body, "*"); ok {
		t.Fatal("no failure past the match cap")
	}
}
