package server

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// bareArray decodes a body that must be a JSON array (BT answers some lists unpaged).
func (r *resp) bareArray(t *testing.T) []any {
	t.Helper()
	var a []any
	if err := json.Unmarshal(r.body, &a); err != nil {
		t.Fatalf("body is not a JSON array (%d): %s", r.status, r.body)
	}
	return a
}

// pageAllOffset follows page=1,2,… of an offset list with size until a page is empty, as the
// SDK does, and fails on a page larger than size, an item seen twice, a wrong total or too many
// pages (a server that ignores page would loop forever).
func pageAllOffset(t *testing.T, e *testEdge, key, path string, size int) (ids []string, pages int) {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	total := -1
	for page := 1; ; page++ {
		if page > 50 {
			t.Fatalf("%s: more than 50 pages", path)
		}
		m := e.do("GET", fmt.Sprintf("%s%spage=%d&size=%d", path, sep, page, size), key, nil).expect(t, 200).json(t)
		p, _ := m["pagination"].(map[string]any)
		num := func(name string) int {
			n, ok := p[name].(float64)
			if !ok {
				t.Fatalf("%s page %d: no pagination.%s: %v", path, page, name, m)
			}
			return int(n)
		}
		if num("page_number") != page || num("page_size") != size {
			t.Fatalf("%s page %d: pagination %v", path, page, p)
		}
		if n := num("total_items"); total == -1 {
			total = n
			if want := (n + size - 1) / size; num("total_pages") != want {
				t.Fatalf("%s: total_pages %v for %d items of size %d", path, p["total_pages"], n, size)
			}
		}
		data, ok := m["data"].([]any)
		if !ok {
			t.Fatalf("%s page %d: data is not an array: %v", path, page, m)
		}
		if len(data) > size {
			t.Fatalf("%s page %d: %d items, size %d", path, page, len(data), size)
		}
		if len(data) == 0 {
			if len(ids) != total {
				t.Fatalf("%s: paged %d items, total_items %d", path, len(ids), total)
			}
			return ids, pages
		}
		pages++
		for _, it := range data {
			id := it.(map[string]any)["id"].(string)
			if slices.Contains(ids, id) {
				t.Fatalf("%s: %s on two pages", path, id)
			}
			ids = append(ids, id)
		}
	}
}

// TestOffsetListsIgnoringPageWouldLoopForever: the SDK pages offset lists with page until a page
// is empty; each list pages to its end, every item once, with filters, and refuses sizes it
// does not serve.
func TestOffsetListsIgnoringPageWouldLoopForever(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	var apps, proxies []string
	for i := range 7 {
		_, id := e.newApp("management", "token:read")
		apps = append(apps, id)
		px := e.do("POST", "/proxies", e.adminKey, map[string]any{"name": fmt.Sprintf("px%d", i), "destination_url": "https://example.com"}).expect(t, 201).json(t)
		proxies = append(proxies, px["id"].(string))
	}
	e.newApp("private", "token:read") // not management: filtered out below
	t.Run("applications", func(t *testing.T) {
		ids, pages := pageAllOffset(t, e, e.adminKey, "/applications?type=management", 3)
		if pages != 3 || len(ids) != 7 {
			t.Fatalf("%d pages, %d applications: %v", pages, len(ids), ids)
		}
		two, _ := pageAllOffset(t, e, e.adminKey, "/applications?id="+apps[0]+"&id="+apps[5], 3)
		want := []string{apps[0], apps[5]}
		slices.Sort(two)
		slices.Sort(want)
		if !slices.Equal(two, want) {
			t.Fatalf("id filter: %v", two)
		}
	})
	t.Run("proxies", func(t *testing.T) {
		ids, pages := pageAllOffset(t, e, e.adminKey, "/proxies", 2)
		if pages != 4 || len(ids) != 7 {
			t.Fatalf("%d pages, %d proxies", pages, len(ids))
		}
		named, _ := pageAllOffset(t, e, e.adminKey, "/proxies?name=px3", 2)
		if len(named) != 1 || named[0] != proxies[3] {
			t.Fatalf("name filter: %v", named)
		}
	})
	t.Run("transforms", func(t *testing.T) {
		if ids, _ := pageAllOffset(t, e, e.adminKey, "/transforms", 5); len(ids) != 0 {
			t.Fatalf("transforms: %v", ids)
		}
	})
	t.Run("logs", func(t *testing.T) {
		tok := e.token(e.adminKey, map[string]any{"type": "token", "data": "logged"})
		for range 6 {
			e.do("GET", "/tokens/"+tok, e.adminKey, nil).expect(t, 200)
		}
		ids, pages := pageAllOffset(t, e, e.adminKey, "/logs?entity_type=token&entity_id="+tok, 3)
		if len(ids) != 7 || pages != 3 {
			t.Fatalf("%d events on %d pages for 1 create and 6 reads", len(ids), pages)
		}
	})
	t.Run("page past the end", func(t *testing.T) {
		m := e.do("GET", "/applications?page=99&size=100", e.adminKey, nil).expect(t, 200).json(t)
		if d, ok := m["data"].([]any); !ok || len(d) != 0 {
			t.Fatalf("page past the end: %s", e.do("GET", "/applications?page=99", e.adminKey, nil).body)
		}
	})
	for _, q := range []string{"size=101", "size=0", "page=0", "page=x"} {
		for _, path := range []string{"/applications", "/proxies", "/transforms", "/logs"} {
			t.Run(path+"?"+q, func(t *testing.T) {
				if !strings.HasPrefix(q, "page") || path != "/logs" {
					e.do("GET", path+"?"+q, e.adminKey, nil).expectProblem(t, 400, false)
				} else {
					e.do("GET", path+"?"+q+"&size=5", e.adminKey, nil).expectProblem(t, 400, false)
				}
			})
		}
	}
}

// TestLogTotalIsNoExistenceOracle: a container-limited caller asking the log about a token in a
// container it may not use learns nothing, not even from total_items.
func TestLogTotalIsNoExistenceOracle(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	hidden := e.token(e.adminKey, map[string]any{"type": "token", "data": "elsewhere", "containers": []string{"/pci/"}})
	mine := e.token(e.adminKey, map[string]any{"type": "token", "data": "here", "containers": []string{"/general/"}})
	k := e.appWith("private", []string{"/general/"}, "log:read", "token:read")
	for _, tc := range []struct {
		name, id string
		want     float64
	}{{"other container", hidden, 0}, {"unknown", "00000000-0000-4000-8000-000000000000", 0}, {"own container", mine, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			for _, typ := range []string{"", "&entity_type=token"} {
				m := e.do("GET", "/logs?page=1&entity_id="+tc.id+typ, k, nil).expect(t, 200).json(t)
				if got := m["pagination"].(map[string]any)["total_items"]; got != tc.want || len(m["data"].([]any)) != int(tc.want) {
					t.Fatalf("total_items %v, data %v; want %v", got, m["data"], tc.want)
				}
			}
		})
	}
}

// TestDeletedApplicationKeyStopsAtOnce: an application holds two live keys (rotation); deleting
// one refuses it on the very next call, although it was just used (cached), and the other keeps
// working. Listing and reading keys never shows a key value.
func TestDeletedApplicationKeyStopsAtOnce(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	app := e.do("POST", "/applications", e.adminKey, map[string]any{"name": "rotating", "type": "private", "permissions": []string{"token:create"}}).expect(t, 201).json(t)
	id, first := app["id"].(string), app["key"].(string)
	if keys, _ := app["keys"].([]any); len(keys) != 1 || keys[0].(map[string]any)["key"] != first {
		t.Fatalf("create shows its key in keys: %v", app["keys"])
	}
	second := e.do("POST", "/applications/"+id+"/keys", e.adminKey, nil).expect(t, 201).json(t)
	k2, k2id := second["key"].(string), second["id"].(string)
	if k2 == first || second["version"] != "2" || second["created_by"] != "admin" {
		t.Fatalf("second key: %v", second)
	}
	for _, k := range []string{first, k2} {
		e.do("POST", "/tokens", k, map[string]any{"data": "x"}).expect(t, 201)
	}
	list := e.do("GET", "/applications/"+id+"/keys", e.adminKey, nil).expect(t, 200)
	if ks := list.bareArray(t); len(ks) != 2 || strings.Contains(string(list.body), first) || strings.Contains(string(list.body), k2) {
		t.Fatalf("key list: %s", list.body)
	}
	got := e.do("GET", "/applications/"+id+"/keys/"+k2id, e.adminKey, nil).expect(t, 200)
	if strings.Contains(string(got.body), k2) || got.json(t)["id"] != k2id {
		t.Fatalf("key get: %s", got.body)
	}
	e.do("DELETE", "/applications/"+id+"/keys/"+k2id, e.adminKey, nil).expect(t, 204)
	e.do("POST", "/tokens", k2, map[string]any{"data": "x"}).expectProblem(t, 401, false)
	e.do("POST", "/tokens", first, map[string]any{"data": "x"}).expect(t, 201)
	e.do("GET", "/applications/"+id+"/keys/"+k2id, e.adminKey, nil).expectProblem(t, 404, false)
	e.do("DELETE", "/applications/"+id+"/keys/"+k2id, e.adminKey, nil).expectProblem(t, 404, false)
	if ks := e.do("GET", "/applications/"+id+"/keys", e.adminKey, nil).expect(t, 200).bareArray(t); len(ks) != 1 {
		t.Fatalf("after delete: %v", ks)
	}
	// The key the application was created with can be revoked too.
	firstID := app["keys"].([]any)[0].(map[string]any)["id"].(string)
	e.do("DELETE", "/applications/"+id+"/keys/"+firstID, e.adminKey, nil).expect(t, 204)
	e.do("POST", "/tokens", first, map[string]any{"data": "x"}).expectProblem(t, 401, false)
	e.do("POST", "/applications/nope/keys", e.adminKey, nil).expectProblem(t, 404, false)
}

// TestMintingAKeyForAStrongerApplicationIsRefused: application:update does not let a caller mint
// (or revoke) a key of an application holding more than it could grant: the new key would hand
// it those rights.
func TestMintingAKeyForAStrongerApplicationIsRefused(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	_, strong := e.newApp("private", "token:read", "token:reveal")
	weak, _ := e.newApp("management", "application:update", "application:read", "token:read")
	keys := e.do("GET", "/applications/"+strong+"/keys", e.adminKey, nil).expect(t, 200).bareArray(t)
	kid := keys[0].(map[string]any)["id"].(string)
	e.do("POST", "/applications/"+strong+"/keys", weak, nil).expectProblem(t, 403, false)
	e.do("DELETE", "/applications/"+strong+"/keys/"+kid, weak, nil).expectProblem(t, 403, false)
	reader, _ := e.newApp("management", "application:read")
	e.do("POST", "/applications/"+strong+"/keys", reader, nil).expectProblem(t, 403, false)
	if n := len(e.do("GET", "/applications/"+strong+"/keys", reader, nil).expect(t, 200).bareArray(t)); n != 1 {
		t.Fatalf("%d keys after refused mints", n)
	}
}

// TestOwnApplicationNeedsOnlyAValidKey: GET /applications/key answers the caller's own
// application whatever it holds, never another's; no key is a 401.
func TestOwnApplicationNeedsOnlyAValidKey(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	k, id := e.newApp("public", "token:create")
	m := e.do("GET", "/applications/key", k, nil).expect(t, 200).json(t)
	if m["id"] != id || m["key"] != nil || m["tenant_id"] == "" || m["created_by"] != "admin" || len(m["keys"].([]any)) != 1 {
		t.Fatalf("own application: %v", m)
	}
	e.do("GET", "/applications/key", "", nil).expectProblem(t, 401, false)
	e.do("GET", "/applications/key", "not-a-key", nil).expectProblem(t, 401, false)
	e.do("GET", "/applications/key", e.adminKey, nil).expectProblem(t, 404, false)
	e.do("GET", "/applications/"+id, k, nil).expectProblem(t, 403, false) // others still need application:read
}

// TestPermissionsTableNeverLetsPublicRead: GET /permissions is BT's table, a bare array; a
// public application is offered no permission that reads tokens.
func TestPermissionsTableNeverLetsPublicRead(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	k, _ := e.newApp("public", "token:create")
	types := func(q string) []string {
		var out []string
		for _, p := range e.do("GET", "/permissions"+q, k, nil).expect(t, 200).bareArray(t) {
			out = append(out, p.(map[string]any)["type"].(string))
		}
		return out
	}
	pub, priv, all := types("?application_type=public"), types("?application_type=private"), types("")
	if !slices.Contains(pub, "token:create") || slices.Contains(pub, "token:read") || slices.Contains(pub, "token:reveal") {
		t.Fatalf("public: %v", pub)
	}
	if !slices.Contains(priv, "token:reveal") || !slices.Contains(priv, "proxy:invoke") || slices.Contains(priv, "application:create") {
		t.Fatalf("private: %v", priv)
	}
	if len(all) < len(priv)+1 {
		t.Fatalf("all %v", all)
	}
	e.do("GET", "/permissions?application_type=root", k, nil).expectProblem(t, 400, false)
	e.do("GET", "/permissions", "", nil).expectProblem(t, 401, false)
}

// TestBareArrayListsTheSDKExpects: GET /keys and GET /logs/entity-types are bare arrays.
func TestBareArrayListsTheSDKExpects(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	e.do("POST", "/keys", e.adminKey, map[string]any{}).expect(t, 201)
	if ks := e.do("GET", "/keys", e.adminKey, nil).expect(t, 200).bareArray(t); len(ks) != 1 {
		t.Fatalf("keys %v", ks)
	}
	var values []string
	for _, et := range e.do("GET", "/logs/entity-types", e.adminKey, nil).expect(t, 200).bareArray(t) {
		values = append(values, et.(map[string]any)["value"].(string))
	}
	for _, want := range []string{"token", "proxy", "application", "key", "transform", "reactor"} {
		if !slices.Contains(values, want) {
			t.Errorf("entity type %s missing: %v", want, values)
		}
	}
	k, _ := e.newApp("private", "token:read")
	e.do("GET", "/logs/entity-types", k, nil).expectProblem(t, 403, false)
}

// TestOpenAPIResponsesOfKeysPermissionsAndOffsetLists: the answers of the application-key,
// permission, entity-type and offset-list routes match openapi.json, members included.
func TestOpenAPIResponsesOfKeysPermissionsAndOffsetLists(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	e := startEdge(t)
	c := &responseChecker{t: t, doc: doc}
	adm := e.adminKey
	app := c.check("POST", "/applications", e.do("POST", "/applications", adm, map[string]any{"name": "a", "type": "private", "permissions": []string{"token:create"}}).expect(t, 201))
	id, key := app["id"].(string), app["key"].(string)
	k := c.check("POST", "/applications/{id}/keys", e.do("POST", "/applications/"+id+"/keys", adm, nil).expect(t, 201))
	kp := "/applications/" + id + "/keys/" + k["id"].(string)
	c.check("POST", "/applications/{id}/keys", e.do("POST", "/applications/nope/keys", adm, nil).expect(t, 404))
	c.check("POST", "/applications/{id}/keys", e.do("POST", "/applications/"+id+"/keys", key, nil).expect(t, 403))
	c.check("GET", "/applications/{id}/keys", e.do("GET", "/applications/"+id+"/keys", adm, nil).expect(t, 200))
	c.check("GET", "/applications/{id}/keys/{keyId}", e.do("GET", kp, adm, nil).expect(t, 200))
	c.check("GET", "/applications/{id}", e.do("GET", "/applications/"+id, adm, nil).expect(t, 200))
	c.check("GET", "/applications/key", e.do("GET", "/applications/key", key, nil).expect(t, 200))
	c.check("GET", "/applications/key", e.do("GET", "/applications/key", adm, nil).expect(t, 404))
	c.check("DELETE", "/applications/{id}/keys/{keyId}", e.do("DELETE", kp, adm, nil).expect(t, 204))
	c.check("GET", "/applications/{id}/keys/{keyId}", e.do("GET", kp, adm, nil).expect(t, 404))
	c.check("GET", "/permissions", e.do("GET", "/permissions?application_type=public", key, nil).expect(t, 200))
	c.check("GET", "/permissions", e.do("GET", "/permissions?application_type=x", key, nil).expect(t, 400))
	c.check("GET", "/logs/entity-types", e.do("GET", "/logs/entity-types", adm, nil).expect(t, 200))
	c.check("GET", "/logs", e.do("GET", "/logs?page=1&size=2", adm, nil).expect(t, 200))
	c.check("GET", "/applications", e.do("GET", "/applications?page=2&size=1&type=private", adm, nil).expect(t, 200))
	c.check("GET", "/proxies", e.do("GET", "/proxies?page=1", adm, nil).expect(t, 200))
	c.check("GET", "/transforms", e.do("GET", "/transforms?page=1", adm, nil).expect(t, 200))
	e.do("POST", "/keys", adm, map[string]any{}).expect(t, 201)
	c.check("GET", "/keys", e.do("GET", "/keys", adm, nil).expect(t, 200))
}
