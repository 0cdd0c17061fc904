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

// List pages through the tokens matching q that who may use, each rendered as Get renders it
// and audited as a read first. Tokens in containers the caller may not use are left out of
// the page (a page may then hold fewer than q.Size; Next still leads on).
func (v *Vault) List(ctx context.Context, who *edge.Principal, q store.TokenQuery) (*Page, error) {
	if !who.MayRead() {
		return nil, edge.Forbidden("token:read")
	}
	got, err := v.store.ListTokens(ctx, q)
	if err != nil {
		return nil, err
	}
	reveal := who.Can(edge.PermTokenReveal)
	op := "read"
	if reveal {
		op = "reveal"
	}
	page := &Page{Tokens: make([]*View, 0, len(got.Tokens)), Next: got.Next}
	events := make([]store.Event, 0, len(got.Tokens))
	for _, t := range got.Tokens {
		if !who.CanUse(t.Containers) {
			continue
		}
		w, err := v.View(t, reveal)
		if err != nil {
			return nil, err
		}
		page.Tokens = append(page.Tokens, w)
		events = append(events, edge.Event(who, v.now(), "token", t.ID, op))
	}
	if len(events) > 0 {
		if err := v.store.Audit(ctx, events...); err != nil {
			return nil, err
		}
	}
	return page, nil
}
