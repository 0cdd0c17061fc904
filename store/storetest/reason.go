package storetest

import (
	"testing"

	"github.com/sluice-edge/sluice/store"
)

// testEventReason: an event's reason (Footprint's x-fp-proxy-access-reason) is kept as given, for
// events audited together (which share everything but their entity) and apart, and an event
// without one reads back without one.
func testEventReason(t *testing.T, _ Backend, s store.Store) {
	const reason = `KYC "re-check" — ticket 42`
	withReason := func(id string) store.Event {
		e := ev("detokenize", id)
		e.Actor, e.Reason = "reason-app", reason
		return e
	}
	plain := ev("detokenize", "r-plain")
	plain.Actor = "reason-app"
	if err := s.Audit(ctx, withReason("r1"), withReason("r2")); err != nil {
		t.Fatal(err)
	}
	if err := s.Audit(ctx, plain, withReason("r3")); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range allEvents(t, s, store.EventQuery{Actor: "reason-app"}) {
		got[e.EntityID] = e.Reason
	}
	want := map[string]string{"r1": reason, "r2": reason, "r3": reason, "r-plain": ""}
	for id, r := range want {
		if g, ok := got[id]; !ok || g != r {
			t.Fatalf("event %s: reason %q (found %v), want %q", id, g, ok, r)
		}
	}
	if bad := withReason("r4"); true {
		bad.Reason = "a\x00b"
		if err := s.Audit(ctx, bad); err == nil {
			t.Fatal("a reason with a NUL byte was kept")
		}
	}
}
