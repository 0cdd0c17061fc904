package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sluice-edge/sluice/store"
)

// testOffsetLists: applications, documents and events page by offset with filters and a
// total; a page past the end is empty.
func testOffsetLists(t *testing.T, _ Backend, s store.Store) {
	for i := range 7 {
		typ := "private"
		if i%2 == 0 {
			typ = "management"
		}
		id := fmt.Sprint("app-", i)
		if err := s.CreateApplication(ctx, &store.Application{ID: id, Name: fmt.Sprint("Shop ", i), Type: typ, KeyHash: s.HashKey("key_" + id)}, ev("create", id)); err != nil {
			t.Fatal(err)
		}
		doc := fmt.Sprintf(`{"id":"px-%d","name":"Proxy %d","type":"t%d"}`, i, i, i%3)
		if err := s.Put(ctx, store.Proxies, fmt.Sprint("px-", i), []byte(doc), true, ev("create", fmt.Sprint("px-", i))); err != nil {
			t.Fatal(err)
		}
	}
	appIDs := func(apps []*store.Application) []string {
		var out []string
		for _, a := range apps {
			out = append(out, a.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		q     store.ListQuery
		want  []string
		total int
	}{
		{"first page", store.ListQuery{Page: 1, Size: 3}, []string{"app-0", "app-1", "app-2"}, 7},
		{"last page", store.ListQuery{Page: 3, Size: 3}, []string{"app-6"}, 7},
		{"past the end", store.ListQuery{Page: 4, Size: 3}, nil, 7},
		{"type", store.ListQuery{Page: 1, Size: 2, Type: "management"}, []string{"app-0", "app-2"}, 4},
		{"name, any case", store.ListQuery{Page: 1, Name: "shop 5"}, []string{"app-5"}, 1},
		{"ids and type", store.ListQuery{IDs: []string{"app-1", "app-2", "nope"}, Type: "private"}, []string{"app-1"}, 1},
	} {
		apps, total, err := s.ApplicationsPage(ctx, tc.q)
		if err != nil || total != tc.total || !slices.Equal(appIDs(apps), tc.want) {
			t.Errorf("applications, %s: %v %d %v, want %d %v", tc.name, err, total, appIDs(apps), tc.total, tc.want)
		}
	}
	docs, total, err := s.DocumentsPage(ctx, store.Proxies, store.ListQuery{Page: 2, Size: 1, Type: "t1"})
	if err != nil || total != 2 || len(docs) != 1 || string(docs[0]) != `{"id":"px-4","name":"Proxy 4","type":"t1"}` {
		t.Fatalf("documents: %v %d %q", err, total, docs)
	}

	for i := range 12 {
		if err := s.Audit(ctx, store.Event{EntityType: "reactor", EntityID: fmt.Sprint("r", i%2), Operation: "invoke", Actor: "app"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name        string
		q           store.EventQuery
		page, size  int
		len, total  int
		firstEntity string
	}{
		{"by type", store.EventQuery{EntityType: "reactor"}, 1, 5, 5, 12, "r1"},
		{"last page", store.EventQuery{EntityType: "reactor"}, 3, 5, 2, 12, "r1"},
		{"past the end", store.EventQuery{EntityType: "reactor"}, 4, 5, 0, 12, ""},
		{"by entity", store.EventQuery{EntityType: "reactor", EntityID: "r0"}, 1, 100, 6, 6, "r0"},
		{"until before them", store.EventQuery{EntityType: "reactor", Until: time.Now().Add(-time.Hour)}, 1, 5, 0, 0, ""},
		{"all types", store.EventQuery{}, 1, 100, 26, 26, "r1"}, // 7 applications, 7 proxies, 12 audited
	} {
		p, err := s.EventsPage(ctx, tc.q, tc.page, tc.size)
		if err != nil || len(p.Events) != tc.len || p.Total != tc.total || !p.TotalExact {
			t.Errorf("events, %s: %v %d events, total %d (exact %v); want %d, %d", tc.name, err, len(p.Events), p.Total, p.TotalExact, tc.len, tc.total)
			continue
		}
		if tc.len > 0 && p.Events[0].EntityID != tc.firstEntity {
			t.Errorf("events, %s: first is %s, want %s (newest first)", tc.name, p.Events[0].EntityID, tc.firstEntity)
		}
	}
}
