package proxy

import (
	"testing"

	"github.com/sluice-edge/sluice/store"
)

// TestDetokEnvTokenInAnyOrder: Token looks first after the id it found last; ids asked out of
// order, twice, back to the first, unknown, or differing only after the first byte must still
// get their own data.
func TestDetokEnvTokenInAnyOrder(t *testing.T) {
	ids := []string{"aaaa-1", "aaaa-2", "bbbb-1", "cccc-1"}
	res := new(store.Resolved)
	for _, id := range ids {
		res.Tokens = append(res.Tokens, store.ResolvedToken{ID: id, Found: true, Data: []byte(`"` + id + `"`)})
	}
	for _, order := range [][]string{
		{"aaaa-1", "aaaa-2", "bbbb-1", "cccc-1"},
		{"cccc-1", "bbbb-1", "aaaa-2", "aaaa-1"},
		{"aaaa-2", "aaaa-2", "aaaa-1", "cccc-1", "aaaa-1"},
		{"aaaa-1", "aaaa-3", "aaaa-2", "", "bbbb-1"},
	} {
		e := detokEnv{ids: ids, res: res, objs: make([][]byte, len(ids)), wantObj: make([]bool, len(ids))}
		for _, id := range order {
			data, _, ok := e.Token([]byte(id))
			known := id == "aaaa-1" || id == "aaaa-2" || id == "bbbb-1" || id == "cccc-1"
			if ok != known || (ok && string(data) != `"`+id+`"`) {
				t.Fatalf("order %q: Token(%q) = %s, %v", order, id, data, ok)
			}
		}
	}
}
