package server

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Cursor lists answer as if the tokens the caller's rules do not cover did not exist: a page and
// its pagination.next depend only on the tokens it may see (SPEC §3: no existence oracle).

// TestListCursorNeverNamesHiddenToken: with nothing it may read, a caller gets an empty page and
// no cursor — before, next was base64(created_at ‖ id) of a hidden token.
func TestListCursorNeverNamesHiddenToken(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	key := e.rulesApp(nil, rule(1, "/mine/", "reveal", "token:read", "token:search"))
	hidden := e.tokenIn("secret-1", "/secret/")
	e.tokenIn("secret-2", "/secret/")
	m := e.do("GET", "/v2/tokens?size=1", key, nil).expect(t, 200).json(t)
	next, _ := m["pagination"].(map[string]any)["next"].(string)
	raw, _ := base64.RawURLEncoding.DecodeString(next)
	if next != "" || len(m["data"].([]any)) != 0 || strings.Contains(string(raw), hidden) {
		t.Fatalf("a caller whose rules cover no token learns one exists: data %v, next %q (%q), hidden id %s", m["data"], next, raw, hidden)
	}
}

// TestSearchIsNoEqualityOracleOnHiddenToken: a caller that may create and search in /mine/
// vaults its own guess of a hidden token's value; searching data:<guess> answers the same
// whether the hidden token holds the guess or not.
func TestSearchIsNoEqualityOracleOnHiddenToken(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	key := e.rulesApp(nil, rule(1, "/mine/", "reveal", "token:create", "token:read", "token:search"))
	indexed := func(k, data, container string) string {
		return e.token(k, map[string]any{"type": "token", "data": data, "containers": []string{container},
			"search_indexes": []string{"{{ data }}"}})
	}
	answer := func(t *testing.T, guess string) string {
		m := e.do("POST", "/v2/tokens/search", key, map[string]any{"query": "data:" + guess, "size": 1}).expect(t, 200).json(t)
		var ids []string
		for _, d := range m["data"].([]any) {
			ids = append(ids, d.(map[string]any)["id"].(string))
		}
		next, _ := m["pagination"].(map[string]any)["next"].(string)
		return fmt.Sprintf("%v next=%v", ids, next != "")
	}
	for _, order := range []string{"hidden first", "own first"} {
		t.Run(order, func(t *testing.T) {
			tag := strings.ReplaceAll(order, " ", "-")
			right, wrong := "right-"+tag, "wrong-"+tag
			if order == "hidden first" {
				indexed(e.adminKey, right, "/secret/")
			}
			ownRight, ownWrong := indexed(key, right, "/mine/"), indexed(key, wrong, "/mine/")
			if order == "own first" {
				indexed(e.adminKey, right, "/secret/")
			}
			got := strings.ReplaceAll(answer(t, right), ownRight, "OWN")
			want := strings.ReplaceAll(answer(t, wrong), ownWrong, "OWN")
			if got != want {
				t.Fatalf("search answers differ with the hidden token's value: right guess %s, wrong guess %s", got, want)
			}
		})
	}
}

// TestListPagesOnlyAllowedTokensToTheEnd: hidden tokens interleaved with allowed ones; paging
// with size 2 returns every allowed token once, in order, full pages, and no empty last page.
func TestListPagesOnlyAllowedTokensToTheEnd(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	key := e.rulesApp(nil, rule(1, "/mine/", "mask", "token:read"))
	var want []string
	for i := range 12 {
		if i%3 == 0 {
			want = append(want, e.tokenIn(fmt.Sprint("mine-", i), "/mine/"))
		} else {
			e.tokenIn(fmt.Sprint("hidden-", i), "/secret/")
		}
	}
	var got []string
	start := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		m := e.do("GET", "/v2/tokens?size=2"+start, key, nil).expect(t, 200).json(t)
		data := m["data"].([]any)
		if len(data) == 0 {
			t.Fatalf("an empty page after %v", got)
		}
		for _, d := range data {
			got = append(got, d.(map[string]any)["id"].(string))
		}
		next, _ := m["pagination"].(map[string]any)["next"].(string)
		if next == "" {
			break
		}
		start = "&start=" + next
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paged %v, want %v", got, want)
	}
}
