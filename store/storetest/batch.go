package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/sluice-edge/sluice/store"
)

func batchOf(toks ...*store.Token) []store.TokenCreate {
	out := make([]store.TokenCreate, len(toks))
	for i, t := range toks {
		out[i] = store.TokenCreate{Token: t, Event: ev("create", t.ID)}
	}
	return out
}

// testCreateTokensAllOrNothing: a batch creates every token with its event, deduplicates
// against the vault and within itself, and a failing item (here a taken id, after others were
// staged) leaves no token of the batch, no event and no index entry behind.
func testCreateTokensAllOrNothing(t *testing.T, _ Backend, s store.Store) {
	mustCreate(t, s, card("taken", "4111111111111111"), false)
	first := dedupeToken(s, "b1", "4242424242424242", "/pci/high/")
	mustCreate(t, s, first, false)

	reqs := batchOf(card("n1", "4000056655665556"), dedupeToken(s, "n2", "4242424242424242", "/pci/high/"),
		dedupeToken(s, "n3", "5555555555554444", "/pci/high/"), dedupeToken(s, "n4", "5555555555554444", "/pci/high/"))
	for i := 1; i < len(reqs); i++ {
		reqs[i].Dedupe = true
	}
	got, err := s.CreateTokens(ctx, reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct {
		id      string
		existed bool
	}{{"n1", false}, {"b1", true}, {"n3", false}, {"n3", true}} {
		if got[i].Token.ID != want.id || got[i].Existed != want.existed {
			t.Errorf("item %d: %s existed=%v, want %s existed=%v", i, got[i].Token.ID, got[i].Existed, want.id, want.existed)
		}
	}
	if _, err := s.GetToken(ctx, "n4"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a deduplicated item was stored: %v", err)
	}
	if evs := allEvents(t, s, store.EventQuery{EntityID: "n1"}); len(evs) != 1 {
		t.Fatalf("%d events for a batch item", len(evs))
	}

	failing := batchOf(tokenAt("f1", "token", first.CreatedAt, "/general/high/"), tokenAt("f2", "token", first.CreatedAt, "/general/high/"),
		card("taken", "4111111111111111"), tokenAt("f3", "token", first.CreatedAt, "/general/high/"))
	_, err = s.CreateTokens(ctx, failing)
	var be *store.BatchError
	if !errors.As(err, &be) || be.Index != 2 || !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a taken id in a batch: %v", err)
	}
	for _, id := range []string{"f1", "f2", "f3"} {
		if _, err := s.GetToken(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s stored by a failed batch: %v", id, err)
		}
		if evs := allEvents(t, s, store.EventQuery{EntityID: id}); len(evs) != 0 {
			t.Errorf("%s has %d events from a failed batch", id, len(evs))
		}
	}
	if ids := listAll(t, s, store.TokenQuery{ContainerPrefix: "/general/"}, nil); len(ids) != 0 {
		t.Fatalf("a failed batch left index entries: %v", ids)
	}
	dup := batchOf(tokenAt("d1", "token", first.CreatedAt), tokenAt("d1", "token", first.CreatedAt))
	if _, err := s.CreateTokens(ctx, dup); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("one id twice in a batch: %v", err)
	}
	big := make([]*store.Token, store.MaxTokenBatch+1)
	for i := range big {
		big[i] = tokenAt(fmt.Sprint("big", i), "token", first.CreatedAt)
	}
	if _, err := s.CreateTokens(ctx, batchOf(big...)); !errors.Is(err, store.ErrInvalidInput) {
		t.Fatalf("an oversized batch: %v", err)
	}
}
