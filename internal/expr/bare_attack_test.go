package expr

import (
	"fmt"
	"strings"
	"testing"
)

// TestBareReadingAgreesWithParseOnHostileInputs: finish's reading of a bare expression whole
// gives what parsing it gives, in every context, with and without a default token, for the
// inputs an attacker would try at its edges: white space the parser may take and bareAt does
// not (\v, \f, NUL), upper-case and split "encrypted", ids of one to nine bytes sharing their
// first bytes, "}}" glued to JSON braces, quotes and escapes right after the expression, a
// percent-encoded closing marker, and keys.
func TestBareReadingAgreesWithParseOnHostileInputs(t *testing.T) {
	var srcs []string
	for _, in := range []string{
		" a ", "a", "\va\v", "\fa", "a\x00", "\x00a", " ENCRYPTED ", "encrypted", " encrypted\t", "encrypted.x",
		" encrypte d ", "-", "_", "a-", "-a", " abcdefgh ", "abcdefghi", "abcdefg", " a\u00a0", " é ", "a%20",
		"a }", " a}", "a }}}", "token", "config", "message", "header", "body", "proxy", "true", "null",
	} {
		for _, wrap := range []string{
			"{{%s}}", `{"k":"{{%s}}"}`, `{"k":{{%s}}}`, `{"{{%s}}":1}`, `["x{{%s}}y"]`, `{"k":"{{%s}}\""}`,
			`{"k":"\"{{%s}}"}`, `{"k":"{{%s}}\\"}`, "{{%s%%7D%%7D", "%%7B%%7B%s}}", "a={{%s}}&b=1", "{{%s}}{{%s}}",
		} {
			srcs = append(srcs, strings.ReplaceAll(wrap, "%s", in))
		}
	}
	for _, src := range srcs {
		for c := range Body + 1 {
			for _, dflt := range []bool{false, true} {
				t.Run(fmt.Sprintf("%v/%v/%q", c, dflt, src), func(t *testing.T) {
					src := strings.ReplaceAll(src, "%%", "%")
					want := scanAndRender(t, []byte(src), c, dflt, true)
					if got := scanAndRender(t, []byte(src), c, dflt, false); got != want {
						t.Fatalf("bareAt: %s\nparse:  %s", got, want)
					}
				})
			}
		}
	}
}
