package expr

import (
	"reflect"
	"testing"
)

// TestReleaseClearsEveryParsedFilterCall: Release clears only the filter calls parsed since the
// last Release; none may survive it — from a long chain followed by a short one, from a parse
// that failed after writing some, or from a chain a later split fusion shortened.
func TestReleaseClearsEveryParsedFilterCall(t *testing.T) {
	env := &testEnv{data: bmap(map[string]string{"tok": `"a b c"`})}
	for _, inputs := range [][]string{
		{`{{ tok | upcase | downcase | upcase | last4 }}`, `{{ tok | upcase }}`},
		{`{{ tok | upcase | downcase | nosuchfilter }}`},
		{`{{ tok | split: ' ' | first | upcase }}`, `{{ tok }}`},
		{`{{ tok | upcase | downcase }}`, `{{ tok | upcase | downcase | upcase }}`},
	} {
		r := Acquire()
		for _, in := range inputs {
			r.Render(nil, []byte(in), Text, env) // errors are part of the case
		}
		Release(r)
		if !reflect.DeepEqual(r.ex, expr{}) {
			t.Fatalf("%q: a filter call survived Release", inputs)
		}
	}
}
