package server

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// The cursor lists of SPEC §4 (GET /v2/tokens, POST /v2/tokens/search) through real sockets.

// taggedTokens creates n token-type tokens with metadata run=tag and returns their ids.
func (e *testEdge) taggedTokens(n int, tag string) []string {
	e.t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = e.token(e.adminKey, map[string]any{"type": "token", "data": fmt.Sprintf("v%d", i), "metadata": map[string]string{"run": tag}})
	}
	return ids
}

// pageCursor follows a cursor list from first to its end (at most 50 pages), calling between
// after the first page, and returns every id seen in order.
func (e *testEdge) pageCursor(size int, get func(start string) *resp, between func()) []string {
	e.t.Helper()
	var ids []string
	start := ""
	for pages := 0; pages < 50; pages++ {
		m := get(start).expect(e.t, 200).json(e.t)
		pg := m["pagination"].(map[string]any)
		if pg["page_size"] != float64(size) {
			e.t.Fatalf("page_size %v, want %d", pg["page_size"], size)
		}
		data := m["data"].([]any)
		if len(data) > size {
			e.t.Fatalf("%d items on a page of %d", len(data), size)
		}
		for _, d := range data {
			ids = append(ids, d.(map[string]any)["id"].(string))
		}
		if pages == 0 && between != nil {
			between()
		}
		next, ok := pg["next"].(string)
		if !ok {
			return ids
		}
		start = next
	}
	e.t.Fatal("the cursor did not end within 50 pages")
	return nil
}

func sameIDs(t *testing.T, got, want []string) {
	t.Helper()
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	for _, id := range want {
		if seen[id] != 1 {
			t.Fatalf("token %s seen %d times in %v", id, seen[id], got)
		}
		delete(seen, id)
	}
	if len(seen) > 0 {
		t.Fatalf("tokens not asked for: %v", seen)
	}
}

// TestListTokensV2CursorNeitherRepeatsNorSkipsWhileCreating: paging with a small size while a
// token is created visits every earlier token exactly once, and each filter form narrows.
func TestListTokensV2CursorNeitherRepeatsNorSkipsWhileCreating(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	ids := e.taggedTokens(12, "list-a")
	other := e.taggedTokens(2, "list-b")
	card := e.token(e.adminKey, cardBody(pan))

	var late string
	meta := url.QueryEscape(`{"run":"list-a"}`)
	got := e.pageCursor(5, func(start string) *resp {
		return e.do("GET", "/v2/tokens?size=5&metadata="+meta+"&start="+url.QueryEscape(start), e.adminKey, nil)
	}, func() {
		late = e.token(e.adminKey, map[string]any{"type": "token", "data": "late", "metadata": map[string]string{"run": "list-a"}})
	})
	sameIDs(t, withoutID(got, late), ids)

	for _, tc := range []struct {
		name, query string
		want        []string
	}{
		{"metadata dotted", "metadata.run=list-b", other},
		{"type", "type=card", []string{card}},
		{"container prefix", "container=/pci/", []string{card}},
		{"fingerprint", "fingerprint=" + url.QueryEscape(e.do("GET", "/tokens/"+card, e.adminKey, nil).json(t)["fingerprint"].(string)), []string{card}},
		{"type and metadata", "type=token&metadata.run=list-b", other},
		{"nothing matches", "type=card&metadata.run=list-a", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := e.pageCursor(100, func(start string) *resp {
				return e.do("GET", "/v2/tokens?size=100&"+tc.query+"&start="+url.QueryEscape(start), e.adminKey, nil)
			}, nil)
			sameIDs(t, got, tc.want)
		})
	}
}

func withoutID(ids []string, drop string) []string {
	out := ids[:0:0]
	for _, id := range ids {
		if id != drop {
			out = append(out, id)
		}
	}
	return out
}

// TestSearchTokensV2PagesByQuery: BT's query syntax finds exactly the matching tokens, paged
// by the cursor; a malformed query is a 400 naming the term.
func TestSearchTokensV2PagesByQuery(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	ids := e.taggedTokens(7, "search a")
	e.taggedTokens(2, "search b")
	e.token(e.adminKey, map[string]any{"type": "card_number", "data": pan, "metadata": map[string]string{"run": "search a"}})

	search := func(query string, size int) func(string) *resp {
		return func(start string) *resp {
			body := map[string]any{"query": query, "size": size}
			if start != "" {
				body["start"] = start
			}
			return e.do("POST", "/v2/tokens/search", e.adminKey, body)
		}
	}
	got := e.pageCursor(3, search(`metadata.run:"search a" AND type:token AND container:/general/`, 3), nil)
	sameIDs(t, got, ids)

	for _, tc := range []struct{ name, query, says string }{
		{"unterminated quote", `metadata.run:"unterminated`, `term 1 ("metadata.run") has an unterminated quote`},
		{"unknown field", `type:token password:x`, `term 2 ("password") is not a searchable field`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := e.do("POST", "/v2/tokens/search", e.adminKey, map[string]any{"query": tc.query}).expectProblem(t, 400, false)
			if !strings.Contains(fmt.Sprint(p["errors"]), tc.says) {
				t.Fatalf("the refusal does not say %q: %v", tc.says, p)
			}
		})
	}
	e.do("POST", "/v2/tokens/search", e.adminKey, map[string]any{"query": "type:token", "size": 101}).expectProblem(t, 400, false)
	e.do("GET", "/v2/tokens?start=%21%21", e.adminKey, nil).expectProblem(t, 400, false)
}

// TestTokenListsHideTokensOutsideCallersContainers: a /general/-limited reader lists and
// searches only /general/ tokens (a card in /pci/ never appears, masked or not), sees them
// masked without token:reveal, and a caller without token:read gets 403 before any work.
func TestTokenListsHideTokensOutsideCallersContainers(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	gen := e.token(e.adminKey, map[string]any{"type": "token", "data": "general-secret", "metadata": map[string]string{"run": "c"}})
	e.token(e.adminKey, map[string]any{"type": "card_number", "data": pan, "metadata": map[string]string{"run": "c"}})
	reader := e.appWith("private", []string{"/general/"}, "token:read", "token:search")
	writer := e.appWith("private", nil, "token:create")

	listed := e.pageCursor(20, func(start string) *resp {
		return e.do("GET", "/v2/tokens?metadata.run=c&start="+url.QueryEscape(start), reader, nil)
	}, nil)
	sameIDs(t, listed, []string{gen})
	searched := e.pageCursor(20, func(string) *resp {
		return e.do("POST", "/v2/tokens/search", reader, map[string]any{"query": "metadata.run:c"})
	}, nil)
	sameIDs(t, searched, []string{gen})

	page := e.do("GET", "/v2/tokens?metadata.run=c", reader, nil).expect(t, 200)
	if strings.Contains(string(page.body), "general-secret") || strings.Contains(string(page.body), pan[:12]) {
		t.Fatalf("a token:read list shows plaintext: %s", page.body)
	}
	e.do("GET", "/v2/tokens", writer, nil).expectProblem(t, 403, false)
	e.do("POST", "/v2/tokens/search", writer, "{not json").expectProblem(t, 403, false)
}
