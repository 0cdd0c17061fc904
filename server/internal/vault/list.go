package vault

import (
	"context"

	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/store"
)

// Page is one page of a cursor list (GET /v2/tokens, POST /v2/tokens/search): the tokens as
// the caller may see them, and the cursor of the next page ("" on the last).
type Page struct {
	Tokens []*View
	Next   string
}

// List pages through the tokens matching q that who's rules allow for op (token:read for the
// list, token:search for search), each shaped by the deciding rule and audited as a read first.
// Tokens no rule covers are left out of the page (a page may then hold fewer than q.Size; Next
// still leads on).
func (v *Vault) List(ctx context.Context, who *edge.Principal, op edge.Perm, q store.TokenQuery) (*Page, error) {
	if !who.Can(op) {
		return nil, edge.Forbidden(op.String())
	}
	got, err := v.store.ListTokens(ctx, q)
	if err != nil {
		return nil, err
	}
	page := &Page{Tokens: make([]*View, 0, len(got.Tokens)), Next: got.Next}
	events := make([]store.Event, 0, len(got.Tokens))
	for _, t := range got.Tokens {
		ok, shape := who.Access(op, t.Containers)
		if !ok {
			continue
		}
		w, err := v.View(t, shape)
		if err != nil {
			return nil, err
		}
		page.Tokens = append(page.Tokens, w)
		events = append(events, edge.Event(who, v.now(), "token", t.ID, readOp(shape)))
	}
	if len(events) > 0 {
		if err := v.store.Audit(ctx, events...); err != nil {
			return nil, err
		}
	}
	return page, nil
}
