package vault

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sluice-edge/sluice/internal/expr"
)

// TestCustomIDFollowsBasisTheory: a custom id is Basis Theory's (3–400 bytes, none of
// # / \ + ? [ ] | & = % < > { } ^), and Sluice also refuses invalid UTF-8, control characters
// and whitespace at either end.
func TestCustomIDFollowsBasisTheory(t *testing.T) {
	ok := []string{"cust.42@acme", "order:123", "user 7", "abc", "it's", `say "hi"`, "ünï-cødé",
		"a..b", "...", "a,b;c!d$e(f)*g~h`i'j", strings.Repeat("x", 400), strings.Repeat("é", 200)}
	for _, id := range ok {
		t.Run("accepts "+id[:min(len(id), 20)], func(t *testing.T) {
			if !ValidID(id) {
				t.Errorf("ValidID(%q) = false", id)
			}
		})
	}
	bad := map[string]string{
		"two bytes":          "ab",
		"401 bytes":          strings.Repeat("x", 401),
		"401 bytes of runes": strings.Repeat("é", 200) + "x",
		"empty":              "",
		"invalid utf-8":      "ab\xff",
		"newline":            "ab\ncd",
		"nul":                "ab\x00cd",
		"tab":                "ab\tcd",
		"del":                "ab\x7fcd",
		"c1 control":         "ab\u0085cd",
		"leading space":      " abc",
		"trailing space":     "abc ",
		"trailing nbsp":      "abc\u00a0",
		"expression":         "{{ a }}",
	}
	for _, c := range idForbidden {
		bad["forbidden "+string(c)] = "ab" + string(c) + "cd"
	}
	for name, id := range bad {
		t.Run("refuses "+name, func(t *testing.T) {
			if ValidID(id) {
				t.Errorf("ValidID(%q) = true", id)
			}
		})
	}
}

// TestEveryValidIDFitsAnExpression: the longest custom id can be named in {{ token: '…' }}.
func TestEveryValidIDFitsAnExpression(t *testing.T) {
	if maxIDLen > expr.MaxIDLen {
		t.Fatalf("custom ids reach %d bytes but expressions name at most %d", maxIDLen, expr.MaxIDLen)
	}
	if utf8.RuneCountInString(idForbidden) != 16 {
		t.Fatalf("Basis Theory forbids 16 characters, idForbidden has %d", utf8.RuneCountInString(idForbidden))
	}
}
