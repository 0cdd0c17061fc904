package vault

import (
	"context"
	"net/http"

	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/store"
)

// Page is one page of a cursor list (GET /v2/tokens, POST /v2/tokens/search): the tokens as
// the caller may see them, and the cursor of the next page ("" on the last).
type Page struct {
	Tokens []*View
	Next   string
}

// maxListScan bounds the tokens one list call reads to fill a page with tokens the caller's
// rules allow. Past it the call is refused: a partial page whose cursor skipped hidden tokens
// would tell where they are.
const maxListScan = 10_000

// ErrListTooSparse refuses a list that would read past maxListScan tokens outside the caller's
// rules to fill its page.
var ErrListTooSparse = edge.NewProblem(http.StatusBadRequest,
	"too many tokens outside the application's access rules match; narrow the query with a container it may read")

// List pages through the tokens matching q that who's rules allow for op (token:read for the
// list, token:search for search), each shaped by the deciding rule and audited as a read first.
// A page and its cursor depend only on the tokens the caller may see, as if the others did not
// exist: store pages are read until the page is full and one more allowed token shows that more
// follow, and the cursor is the position of the page's last token.
func (v *Vault) List(ctx context.Context, who *edge.Principal, op edge.Perm, q store.TokenQuery) (*Page, error) {
	if !who.Can(op) {
		return nil, edge.Forbidden(op.String())
	}
	size := q.Size
	switch {
	case size <= 0:
		size = 20 // the store's default
	case size > store.MaxTokenPage:
		size = store.MaxTokenPage
	}
	var allowed []*store.Token
	var shapes []edge.Transform
	more, scanned := false, 0
scan:
	for {
		got, err := v.store.ListTokens(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, t := range got.Tokens {
			scanned++
			ok, shape := who.Access(op, t.Containers)
			if !ok {
				continue
			}
			if len(allowed) == size {
				more = true
				break scan
			}
			allowed, shapes = append(allowed, t), append(shapes, shape)
		}
		if got.Next == "" {
			break
		}
		if scanned >= maxListScan {
			if len(allowed) < size {
				return nil, ErrListTooSparse
			}
			more = true
			break
		}
		q.Start = got.Next
	}
	page := &Page{Tokens: make([]*View, 0, len(allowed))}
	if more {
		page.Next = store.TokenCursor(allowed[len(allowed)-1])
	}
	events := make([]store.Event, 0, len(allowed))
	for i, t := range allowed {
		w, err := v.View(t, shapes[i])
		if err != nil {
			return nil, err
		}
		page.Tokens = append(page.Tokens, w)
		events = append(events, edge.Event(who, v.now(), "token", t.ID, readOp(shapes[i])))
	}
	if len(events) > 0 {
		if err := v.store.Audit(ctx, events...); err != nil {
			return nil, err
		}
	}
	return page, nil
}
