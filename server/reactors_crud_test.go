package server

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"testing"
	"time"
)

// newReactor creates a reactor from wasm (base64) or a module id and returns its JSON.
func (e *testEdge) newReactor(key, name, code string, config map[string]string, extra ...any) map[string]any {
	e.t.Helper()
	body := map[string]any{"name": name, "code": code, "configuration": config}
	for i := 0; i+1 < len(extra); i += 2 {
		body[extra[i].(string)] = extra[i+1]
	}
	// Inline code is compiled like an upload: over 30 s (e.do's bound) under -race on a loaded VM.
	j, _ := json.Marshal(body)
	r := e.doBounded(e.t, 10*time.Minute, "POST", "/reactors", key, j, "Content-Type", "application/json")
	if r == nil {
		e.t.FailNow()
	}
	return r.expect(e.t, 201).json(e.t)
}

func TestReactorsCRUDAndPaging(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	k := e.adminKey
	echo := base64.StdEncoding.EncodeToString(testdataWasm(t, "reactecho"))
	r := e.newReactor(k, "echo", echo, map[string]string{"MODE": "test"}, "runtime", map[string]any{"image": "node22", "timeout": 5})
	id := r["id"].(string)
	if r["state"] != "active" || r["tenant_id"] == "" || r["created_by"] != "admin" || r["created_at"] == nil ||
		r["configuration"].(map[string]any)["MODE"] != "test" || r["runtime"].(map[string]any)["image"] != "node22" {
		t.Fatalf("create answer %v", r)
	}
	code := r["code"].(string) // the module's id, accepted back
	if got := e.do("GET", "/reactors/"+id, k, nil).expect(t, 200).json(t); got["name"] != "echo" || got["code"] != code {
		t.Fatalf("get %v", got)
	}

	t.Run("put replaces", func(t *testing.T) {
		up := e.do("PUT", "/reactors/"+id, k, map[string]any{"name": "echo2", "code": code}).expect(t, 200).json(t)
		if up["name"] != "echo2" || len(up["configuration"].(map[string]any)) != 0 || up["runtime"] != nil || up["modified_at"] == nil {
			t.Fatalf("put %v", up)
		}
	})
	t.Run("patch merges", func(t *testing.T) {
		e.do("PUT", "/reactors/"+id, k, map[string]any{"name": "echo", "code": code, "configuration": map[string]string{"MODE": "test", "X": "1"}}).expect(t, 200)
		p := e.do("PATCH", "/reactors/"+id, k, `{"name":"patched","configuration":{"X":null}}`, "Content-Type", "application/merge-patch+json").expect(t, 200).json(t)
		cfg := p["configuration"].(map[string]any)
		if p["name"] != "patched" || cfg["MODE"] != "test" || cfg["X"] != nil || p["code"] != code {
			t.Fatalf("patch %v", p)
		}
		e.do("PATCH", "/reactors/"+id, k, `{"name":"x"}`).expectProblem(t, 415, false)
	})
	t.Run("refused", func(t *testing.T) {
		// No sluice_on_react: 422, whether sent inline or named by id.
		tiny := testdataWasm(t, "tiny")
		e.do("POST", "/reactors", k, map[string]any{"name": "t", "code": base64.StdEncoding.EncodeToString(tiny)}).expectProblem(t, 422, false)
		tinyID := e.upload(k, tiny)
		e.do("POST", "/reactors", k, map[string]any{"name": "t", "code": tinyID}).expectProblem(t, 422, false)
		e.do("POST", "/reactors", k, map[string]any{"name": "t", "code": base64.StdEncoding.EncodeToString(testdataWasm(t, "badreact"))}).expectProblem(t, 422, false)
		e.do("POST", "/reactors", k, map[string]any{"name": "t", "code": "sha256:00"}).expectProblem(t, 400, false)
		e.do("POST", "/reactors", k, map[string]any{"name": "t", "code": "%%% not base64"}).expectProblem(t, 400, false)
		e.do("POST", "/reactors", k, map[string]any{"code": code}).expectProblem(t, 400, false)
		e.do("POST", "/reactors", k, map[string]any{"name": "t", "code": code, "configuration": map[string]string{"bad name": "v"}}).expectProblem(t, 400, false)
		e.do("POST", "/reactors", k, map[string]any{"name": "t", "code": code, "application": map[string]string{"id": "no-such-app"}}).expectProblem(t, 400, false)
		// The module of a reactor cannot be deleted from under it.
		e.do("DELETE", "/transforms/"+code, k, nil).expectProblem(t, 409, false)
	})
	t.Run("permissions", func(t *testing.T) {
		reader, _ := e.newApp("private", "reactor:read")
		e.do("GET", "/reactors/"+id, reader, nil).expect(t, 200)
		e.do("POST", "/reactors", reader, map[string]any{"name": "t", "code": code}).expectProblem(t, 403, false)
		e.do("PUT", "/reactors/"+id, reader, map[string]any{"name": "t", "code": code}).expectProblem(t, 403, false)
		e.do("DELETE", "/reactors/"+id, reader, nil).expectProblem(t, 403, false)
		e.do("POST", "/reactors/"+id+"/react", reader, map[string]any{"args": 1}).expectProblem(t, 403, false)
		e.do("GET", "/reactors", "", nil).expectProblem(t, 401, false)
		// An application cannot lend a reactor rights it does not hold.
		creator, _ := e.newApp("private", "reactor:create")
		_, strong := e.newApp("private", "token:use", "token:create")
		e.do("POST", "/reactors", creator, map[string]any{"name": "t", "code": code, "application": map[string]string{"id": strong}}).expectProblem(t, 403, false)
		if got := e.newReactor(k, "lent", code, nil, "application", map[string]string{"id": strong}); got["application"].(map[string]any)["id"] != strong {
			t.Fatalf("application not kept: %v", got)
		}
	})
	t.Run("pages", func(t *testing.T) {
		all := e.do("GET", "/reactors", k, nil).expect(t, 200).json(t)
		total := int(all["pagination"].(map[string]any)["total_items"].(float64))
		for i := 0; i < 5; i++ {
			e.newReactor(k, "page-"+strconv.Itoa(i), code, nil)
		}
		total += 5
		seen := map[string]bool{}
		for page := 1; ; page++ {
			l := e.do("GET", "/reactors?size=2&page="+strconv.Itoa(page), k, nil).expect(t, 200).json(t)
			p := l["pagination"].(map[string]any)
			if int(p["total_items"].(float64)) != total || p["page_size"] != 2.0 || p["page_number"] != float64(page) ||
				int(p["total_pages"].(float64)) != (total+1)/2 {
				t.Fatalf("pagination %v", p)
			}
			data := l["data"].([]any)
			if len(data) == 0 {
				break
			}
			for _, d := range data {
				rid := d.(map[string]any)["id"].(string)
				if seen[rid] {
					t.Fatalf("reactor %s on two pages", rid)
				}
				seen[rid] = true
			}
		}
		if len(seen) != total {
			t.Fatalf("pages held %d reactors, want %d", len(seen), total)
		}
		if l := e.do("GET", "/reactors?name=page-3", k, nil).expect(t, 200).json(t)["data"].([]any); len(l) != 1 {
			t.Fatalf("name filter: %v", l)
		}
		if l := e.do("GET", "/reactors?id="+id, k, nil).expect(t, 200).json(t)["data"].([]any); len(l) != 1 {
			t.Fatalf("id filter: %v", l)
		}
		e.do("GET", "/reactors?size=101", k, nil).expectProblem(t, 400, false)
		e.do("GET", "/reactors?page=0", k, nil).expectProblem(t, 400, false)
	})
	t.Run("delete", func(t *testing.T) {
		e.do("DELETE", "/reactors/"+id, k, nil).expect(t, 204)
		e.do("GET", "/reactors/"+id, k, nil).expectProblem(t, 404, false)
		e.do("POST", "/reactors/"+id+"/react", k, map[string]any{"args": 1}).expectProblem(t, 404, false)
	})
}
