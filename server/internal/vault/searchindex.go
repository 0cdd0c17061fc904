package vault

import (
	"github.com/sluice-edge/sluice/internal/expr"
	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/store"
)

// Search indexes (SPEC §4) are expressions over the token's own data, evaluated when the data
// is set; the vault keeps only keyed hashes of what they render, which `data:` search terms
// match exactly. They are checked like fingerprint expressions: they may name nothing but data.

// Bounds of a token's search indexes, checked before any is parsed.
const (
	maxSearchIndexes     = 16
	maxSearchIndexLength = 1024
)

// defaultSearchIndexes are Basis Theory's indexes for types that have them: the whole value,
// the value without dashes, and its last 4.
var defaultSearchIndexes = map[string][]string{
	TypeSSN: {"{{ data }}", "{{ data | remove: '-' }}", "{{ data | last4 }}"},
	TypeEIN: {"{{ data }}", "{{ data | remove: '-' }}", "{{ data | last4 }}"},
}

func validateSearchIndexes(idx []string) error {
	if len(idx) > maxSearchIndexes {
		return edge.Invalid("search_indexes", "at most 16 expressions")
	}
	for _, e := range idx {
		if e == "" || len(e) > maxSearchIndexLength {
			return edge.Invalid("search_indexes", "each must be an expression of at most 1 KiB")
		}
		if err := checkSelfExpression([]byte(e), expr.Text, "search_indexes"); err != nil {
			return err
		}
	}
	return nil
}

// searchValues renders t's search indexes (or its type's defaults) over its data; empty
// results index nothing. Never nil, so the vault replaces the hashes of older data.
func searchValues(t *store.Token) ([]string, error) {
	idx := t.SearchIndexes
	if len(idx) == 0 {
		idx = defaultSearchIndexes[t.Type]
	}
	out := make([]string, 0, len(idx))
	if len(idx) == 0 {
		return out, nil
	}
	r := expr.Acquire()
	defer expr.Release(r)
	for _, e := range idx {
		r.SetLimits(expr.Limits{MaxExpansion: maskExpansion(len(t.Data))})
		v, err := r.Render(nil, []byte(e), expr.Text, selfEnv{t.Data})
		if err != nil {
			return nil, edge.Invalid("search_indexes", edge.ExprDetail(err))
		}
		if len(v) > 0 {
			out = append(out, string(v))
		}
	}
	return out, nil
}
