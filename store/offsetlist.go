package store

import (
	"encoding/json"
	"slices"
	"strings"
)

// ListQuery pages an offset list (applications, documents): Page from 1, Size 1..100 (0 means
// 20), and filters joined by AND: IDs (any of), Name (case-insensitive substring), Type
// (exact). Items come in id order.
type ListQuery struct {
	Page, Size int
	IDs        []string
	Name, Type string
}

// EventPage is a page of EventsPage: Total counts every matching event when TotalExact, else
// it is a lower bound (MaxEventCount were counted and more may match).
type EventPage struct {
	Events     []Event
	Total      int
	TotalExact bool
}

// MaxEventCount bounds the events a backend without a count by index walks to total a page.
const MaxEventCount = 100_000

// normalize fills the defaults of a page query.
func pageBounds(page, size int) (int, int) {
	if size <= 0 {
		size = 20
	}
	return max(page, 1), min(size, 100)
}

// listed is what an offset list's filters look at in an item.
type listed struct {
	ID, Name, Type string
}

func (q *ListQuery) match(it listed) bool {
	return (len(q.IDs) == 0 || slices.Contains(q.IDs, it.ID)) &&
		(q.Name == "" || strings.Contains(strings.ToLower(it.Name), strings.ToLower(q.Name))) &&
		(q.Type == "" || it.Type == q.Type)
}

// pageItems filters items (in id order), and returns the page asked for and the total.
func pageItems[T any](items []T, fields func(T) listed, q ListQuery) ([]T, int) {
	page, size := pageBounds(q.Page, q.Size)
	var kept []T
	for _, it := range items {
		if q.match(fields(it)) {
			kept = append(kept, it)
		}
	}
	slices.SortStableFunc(kept, func(a, b T) int { return strings.Compare(fields(a).ID, fields(b).ID) })
	from := min((page-1)*size, len(kept))
	return kept[from:min(from+size, len(kept))], len(kept)
}

func appFields(a *Application) listed { return listed{ID: a.ID, Name: a.Name, Type: a.Type} }

// docFields reads the id, name and type of a JSON document (proxies, reactors, transforms).
func docFields(doc []byte) listed {
	var f struct{ ID, Name, Type string }
	json.Unmarshal(doc, &f) // a field it cannot read is empty: the document matches no filter on it
	return listed{ID: f.ID, Name: f.Name, Type: f.Type}
}
