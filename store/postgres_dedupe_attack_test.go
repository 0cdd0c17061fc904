package store

import (
	"context"
	"testing"
)

// TestPostgresDedupeIgnoresAClaimOutlivingItsToken: token_claims has no foreign key, so a claim
// can outlive its token — sluice copy inserts a claim after checking that its token exists,
// and the sweep may delete that token in between. When a new token then takes the freed id (a
// custom id, such as "customer-42-ssn", re-created after expiry) with another value,
// deduplicating the first value must not answer the new token: its caller would be handed a
// token of someone else's data as its own. A claim counts only for the token whose claim key it
// is, and the first token of the value takes the claim over.
func TestPostgresDedupeIgnoresAClaimOutlivingItsToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestPG(t)
	victim := card("victim-first", "4111111111111111")
	victim.Fingerprint = "fp-victim"
	// The claim of a token that is gone, left pointing at its id.
	if _, err := s.pool.Exec(ctx, "INSERT INTO token_claims (key, token_id) VALUES ($1, 'customer-42')", claimKey(victim)); err != nil {
		t.Fatal(err)
	}
	other := card("customer-42", "5555555555554444")
	other.Fingerprint = "fp-other"
	if _, _, err := s.CreateToken(ctx, other, true, Event{Operation: "create"}); err != nil {
		t.Fatal(err)
	}
	again := card("victim-again", "4111111111111111")
	again.Fingerprint = "fp-victim"
	got, existed, err := s.CreateToken(ctx, again, true, Event{Operation: "create"})
	if err != nil {
		t.Fatal(err)
	}
	if existed || got.ID != "victim-again" {
		t.Fatalf("deduplicating fp-victim answered token %s (existed %v), which holds another value", got.ID, existed)
	}
	// The new token took the claim over: the value deduplicates to it from now on.
	third := card("victim-third", "4111111111111111")
	third.Fingerprint = "fp-victim"
	if got, existed, err := s.CreateToken(ctx, third, true, Event{Operation: "create"}); err != nil || !existed || got.ID != "victim-again" {
		t.Fatalf("deduplicating fp-victim again: %v (existed %v, %v), want victim-again", got, existed, err)
	}
}
