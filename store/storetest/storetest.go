// Package storetest is the conformance suite every store.Store backend passes: Run drives each
// method of the interface through its errors, expiry, deduplication, audit atomicity, event
// paging and sealed-byte flips, against a fresh vault per test.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-edge/sluice/store"
)

// Backend is what the suite needs of a backend under test.
type Backend struct {
	// Open returns a new, empty vault; the suite closes it.
	Open func(t *testing.T) store.Store
	// FlipToken changes one bit of the sealed bytes stored for token id, where the backend keeps
	// them (not in a cache), and makes s forget any copy it cached.
	FlipToken func(t *testing.T, s store.Store, id string)
	// FlipDocument does the same for a document of a sealed collection.
	FlipDocument func(t *testing.T, s store.Store, c store.Collection, id string)
	// Reopen closes s and opens the same vault again (a restart).
	Reopen func(t *testing.T, s store.Store) store.Store
	// Sibling opens another node on the same vault, beside s; nil for single-node backends.
	Sibling func(t *testing.T, s store.Store) store.Store
	// Raw returns every key and value the backend stores, as it stores them under its own
	// encryption at rest (nil when a dump of the database is checked instead).
	Raw func(t *testing.T, s store.Store) []byte
	// AtRest checks what the vault holds at rest after each test, before the suite closes s
	// (which the test may have closed already, to reopen it); nil for none.
	AtRest func(t *testing.T, s store.Store)
	// Parallel runs the tests side by side (go test -parallel of them at a time): for backends
	// whose vaults cost little memory each.
	Parallel bool
}

var ctx = context.Background()

// Secrets are the plaintext values the suite writes: a backend's at-rest test looks for them
// in what it stores after Run.
var Secrets = []string{"4111111111111111", "ZEBRA-PLAINTEXT-MARKER", "987-65-4329", "CVC-MARKER-771",
	"METADATA-MARKER", "key_SECRET-API-KEY-MARKER", "PRIVATE-KEY-MARKER", "PROXY-KEY-MARKER"}

// Run runs the suite, one subtest per behaviour, each on a vault of its own.
func Run(t *testing.T, b Backend) {
	for _, tc := range []struct {
		name   string
		fn     func(t *testing.T, b Backend, s store.Store)
		serial bool // counts allocations: never beside another test
	}{
		{"TokenLifecycle", testTokenLifecycle, false},
		{"TokenFieldsRoundTrip", testTokenFieldsRoundTrip, false},
		{"MissingTokenErrors", testMissingTokenErrors, false},
		{"ExpiredTokenIsGone", testExpiredTokenIsGone, false},
		{"ExpiredIDCanBeReused", testExpiredIDCanBeReused, false},
		{"EphemeralFieldsDropped", testEphemeralFieldsDropped, false},
		{"DedupeFindsOnlySameContainers", testDedupeSameContainers, false},
		{"DedupeKeepsFindingTheFirst", testDedupeKeepsFindingTheFirst, false},
		{"DedupeIgnoresExpired", testDedupeIgnoresExpired, false},
		{"ConcurrentDedupeCreatesOne", testConcurrentDedupe, false},
		{"CreateTokensAllOrNothing", testCreateTokensAllOrNothing, false},
		{"ListPagingWhileCreating", testListPagingWhileCreating, false},
		{"ListFilters", testListFilters, false},
		{"SearchByDataIndex", testSearchByDataIndex, false},
		{"ResolveTokens", testResolveTokens, false},
		{"ResolveSeesUpdatesAndDeletes", testResolveSeesWrites, false},
		{"ResolveCachedAllocatesNothing", testResolveCachedAllocs, true},
		{"ApplicationsAndKeyHashes", testApplications, false},
		{"ApplicationKeys", testAppKeys, false},
		{"Documents", testDocuments, false},
		{"OffsetListsWithTotals", testOffsetLists, false},
		{"Idempotency", testIdempotency, false},
		{"IdempotencyRacingNodesOneWins", testIdempotencyRace, false},
		{"IdempotencySurvivesRestart", testIdempotencyRestart, false},
		{"MutationsWriteTheirEvent", testMutationEvents, false},
		{"RefusedEventMeansNoMutation", testRefusedEventNoMutation, false},
		{"EventReasonRoundTrips", testEventReason, false},
		{"EventsPagingAndFilters", testEventsPaging, false},
		{"FlippedTokenByteIsErrCorrupt", testFlippedToken, false},
		{"FlippedDocumentByteIsErrCorrupt", testFlippedDocument, false},
		{"KeyedHashes", testKeyedHashes, false},
		{"ClosedStoreErrors", testClosed, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if b.Parallel && !tc.serial {
				t.Parallel()
			}
			s := b.Open(t)
			defer s.Close()
			if err := s.Ready(); err != nil {
				t.Fatalf("a fresh vault is not ready: %v", err)
			}
			tc.fn(t, b, s)
			if b.AtRest != nil {
				b.AtRest(t, s)
			}
		})
	}
}

func card(id, number string) *store.Token {
	return &store.Token{ID: id, Type: "card", Data: []byte(`{"number":"` + number + `","expiration_month":12,"expiration_year":2031}`),
		Containers: []string{"/pci/high/"}, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
}

func ev(op, id string) store.Event {
	return store.Event{EntityType: "token", EntityID: id, Operation: op, Actor: "app"}
}

func mustCreate(t *testing.T, s store.Store, tok *store.Token, dedupe bool) (*store.Token, bool) {
	t.Helper()
	got, existed, err := s.CreateToken(ctx, tok, dedupe, ev("create", tok.ID))
	if err != nil {
		t.Fatalf("create %s: %v", tok.ID, err)
	}
	return got, existed
}

// allEvents lists every event matching q, newest first, through every page.
func allEvents(t *testing.T, s store.Store, q store.EventQuery) []store.Event {
	t.Helper()
	var out []store.Event
	for {
		page, next, err := s.Events(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page...)
		if next == "" {
			return out
		}
		q.Start = next
	}
}

func testTokenLifecycle(t *testing.T, _ Backend, s store.Store) {
	tok := card("t1", Secrets[0])
	tok.Fingerprint = s.Fingerprint("card", []byte(Secrets[0]))
	if _, existed := mustCreate(t, s, tok, false); existed {
		t.Fatal("a new token existed")
	}
	if _, _, err := s.CreateToken(ctx, card("t1", "4000056655665556"), false, ev("create", "t1")); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate id: %v", err)
	}
	got, err := s.GetToken(ctx, "t1")
	if err != nil || !bytes.Equal(got.Data, tok.Data) {
		t.Fatalf("get: %v %s", err, got.Data)
	}
	got.Metadata = map[string]string{"k": "v"}
	now := time.Now().UTC().Truncate(time.Microsecond)
	got.ModifiedAt = &now
	if err := s.UpdateToken(ctx, got, ev("update", "t1")); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.GetToken(ctx, "t1"); got.Metadata["k"] != "v" || got.ModifiedAt == nil || !got.ModifiedAt.Equal(now) {
		t.Fatalf("update lost: %+v", got)
	}
	if err := s.DeleteToken(ctx, "t1", ev("delete", "t1")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetToken(ctx, "t1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := s.DeleteToken(ctx, "t1", ev("delete", "t1")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	evs := allEvents(t, s, store.EventQuery{EntityID: "t1"})
	if len(evs) != 3 || evs[0].Operation != "delete" || evs[1].Operation != "update" || evs[2].Operation != "create" {
		t.Fatalf("events newest first: %+v", evs)
	}
}

func testTokenFieldsRoundTrip(t *testing.T, _ Backend, s store.Store) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	far := now.Add(24 * time.Hour)
	tok := &store.Token{ID: "rt", Type: "token", Data: []byte(`{"ssn":"` + Secrets[2] + `","nested":[1,2]}`),
		Metadata: map[string]string{"note": Secrets[4], "": "empty key"}, Containers: []string{"/pii/high/", "/x/"},
		Mask: []byte(`"{{ data | last4 }}"`), Fingerprint: s.Fingerprint("token", []byte(Secrets[2])),
		FingerprintExpression: "{{ data.ssn }}", CreatedBy: "app", CreatedAt: now, ModifiedAt: &now, ExpiresAt: &far}
	mustCreate(t, s, tok, false)
	got, err := s.GetToken(ctx, "rt")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != tok.ID || got.Type != tok.Type || !bytes.Equal(got.Data, tok.Data) || !bytes.Equal(got.Mask, tok.Mask) ||
		got.Fingerprint != tok.Fingerprint || got.FingerprintExpression != tok.FingerprintExpression || got.CreatedBy != tok.CreatedBy ||
		!got.CreatedAt.Equal(now) || !got.ModifiedAt.Equal(now) || !got.ExpiresAt.Equal(far) ||
		!slices.Equal(got.Containers, tok.Containers) || len(got.Metadata) != 2 || got.Metadata["note"] != Secrets[4] {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, tok)
	}
}

func testMissingTokenErrors(t *testing.T, _ Backend, s store.Store) {
	if _, err := s.GetToken(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get: %v", err)
	}
	if err := s.UpdateToken(ctx, card("nope", "4242424242424242"), ev("update", "nope")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update: %v", err)
	}
	if err := s.DeleteToken(ctx, "nope", ev("delete", "nope")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete: %v", err)
	}
	mustCreate(t, s, card("here", "4242424242424242"), false)
	m, err := s.GetTokens(ctx, []string{"here", "nope", "here"})
	if err != nil || len(m) != 1 || m["here"] == nil {
		t.Fatalf("get many: %v %v", err, m)
	}
	if evs := allEvents(t, s, store.EventQuery{EntityID: "nope"}); len(evs) != 0 {
		t.Fatalf("failed mutations left events: %+v", evs)
	}
}

// early reports whether it is still more than slack before deadline, now that a read ended:
// only then is "it is still there" a fair demand (a loaded machine may stall past a deadline).
func early(deadline time.Time, slack time.Duration) bool {
	return time.Now().Before(deadline.Add(-slack))
}

// waitPast sleeps until just after at: expiry is a wall-clock rule.
func waitPast(at time.Time) { time.Sleep(time.Until(at) + 20*time.Millisecond) }

func testExpiredTokenIsGone(t *testing.T, _ Backend, s store.Store) {
	tok := card("exp", "4242424242424242")
	tok.Fingerprint = s.Fingerprint("card", []byte("4242424242424242"))
	// 900 ms past a whole second: a backend that keeps expiry in whole seconds, rounded down,
	// would lose the token early.
	until := time.Now().Truncate(time.Second).Add(1900 * time.Millisecond)
	tok.ExpiresAt = &until
	mustCreate(t, s, tok, false)
	r := new(store.Resolved)
	if err := s.ResolveTokens(ctx, []string{"exp"}, r); err != nil || !r.Tokens[0].Found && early(until, 0) { // cached now
		t.Fatalf("before expiry: %v", err)
	}
	if _, err := s.GetToken(ctx, "exp"); err != nil && early(until, 0) {
		t.Fatal(err)
	}
	time.Sleep(time.Until(until) - 250*time.Millisecond)
	if m, err := s.GetTokens(ctx, []string{"exp"}); err != nil || m["exp"] == nil && early(until, 0) {
		t.Fatalf("unreadable %v before its expiry: %v", time.Until(until), err)
	}
	waitPast(until)
	if _, err := s.GetToken(ctx, "exp"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired token readable: %v", err)
	}
	if m, err := s.GetTokens(ctx, []string{"exp"}); err != nil || len(m) != 0 {
		t.Fatalf("expired token in GetTokens: %v %v", err, m)
	}
	r.Reset()
	if err := s.ResolveTokens(ctx, []string{"exp"}, r); err != nil || r.Tokens[0].Found {
		t.Fatalf("expired token resolves: %v", err)
	}
	if err := s.UpdateToken(ctx, tok, ev("update", "exp")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of an expired token: %v", err)
	}
	if err := s.DeleteToken(ctx, "exp", ev("delete", "exp")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete of an expired token: %v", err)
	}
}

func testExpiredIDCanBeReused(t *testing.T, _ Backend, s store.Store) {
	tok := card("again", "4242424242424242")
	past := time.Now().Add(-time.Second)
	tok.ExpiresAt = &past
	mustCreate(t, s, tok, false)
	if _, err := s.GetToken(ctx, "again"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a token created expired is readable: %v", err)
	}
	fresh := card("again", "5555555555554444")
	if _, _, err := s.CreateToken(ctx, fresh, false, ev("create", "again")); err != nil {
		t.Fatalf("the id of an expired token: %v", err)
	}
	if got, err := s.GetToken(ctx, "again"); err != nil || !bytes.Contains(got.Data, []byte("5555555555554444")) {
		t.Fatalf("reused id: %v", err)
	}
}

func testEphemeralFieldsDropped(t *testing.T, _ Backend, s store.Store) {
	tok := card("c", "4242424242424242")
	tok.Ephemeral = map[string]json.RawMessage{"cvc": json.RawMessage(`"` + Secrets[3] + `"`)}
	tok.EphemeralUntil = time.Now().Add(1500 * time.Millisecond)
	mustCreate(t, s, tok, false)
	// A backend may drop the fields up to a second early (whole seconds), never late.
	got, err := s.GetToken(ctx, "c")
	if err != nil || !bytes.Contains(got.Data, []byte(`"cvc":"`+Secrets[3]+`"`)) && early(tok.EphemeralUntil, time.Second) {
		t.Fatalf("cvc missing before its deadline: %v %s", err, got.Data)
	}
	r := new(store.Resolved)
	if err := s.ResolveTokens(ctx, []string{"c"}, r); err != nil || !bytes.Contains(r.Tokens[0].Data, []byte(Secrets[3])) && early(tok.EphemeralUntil, time.Second) {
		t.Fatalf("resolve before the deadline: %v", err)
	}
	waitPast(tok.EphemeralUntil)
	got, err = s.GetToken(ctx, "c")
	if err != nil || bytes.Contains(got.Data, []byte("cvc")) || !bytes.Contains(got.Data, []byte("4242424242424242")) {
		t.Fatalf("after the deadline: %v %s", err, got.Data)
	}
	r.Reset()
	if err := s.ResolveTokens(ctx, []string{"c"}, r); err != nil || bytes.Contains(r.Tokens[0].Data, []byte("cvc")) {
		t.Fatalf("resolve after the deadline: %v %s", err, r.Tokens[0].Data)
	}
}

// dedupeToken is a card with number's fingerprint in containers.
func dedupeToken(s store.Store, id, number string, containers ...string) *store.Token {
	tok := card(id, number)
	tok.Fingerprint, tok.Containers = s.Fingerprint("card", []byte(number)), containers
	return tok
}

func testDedupeSameContainers(t *testing.T, _ Backend, s store.Store) {
	const number = "4242424242424242"
	mustCreate(t, s, dedupeToken(s, "first", number, "/pci/high/", "/pci/"), false)
	other := dedupeToken(s, "other-type", number, "/pci/high/", "/pci/")
	other.Type = "token"
	for _, tc := range []struct {
		name       string
		tok        *store.Token
		wantID     string
		wantExists bool
	}{
		{"other container", dedupeToken(s, "general", number, "/general/"), "general", false},
		{"subset of containers", dedupeToken(s, "subset", number, "/pci/high/"), "subset", false},
		{"other type", other, "other-type", false},
		{"other value", dedupeToken(s, "other-value", "5555555555554444", "/pci/high/", "/pci/"), "other-value", false},
		{"same containers in another order", dedupeToken(s, "reordered", number, "/pci/", "/pci/high/", "/pci/"), "first", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, existed := mustCreate(t, s, tc.tok, true)
			if got.ID != tc.wantID || existed != tc.wantExists {
				t.Fatalf("got %s (existed %v), want %s (existed %v)", got.ID, existed, tc.wantID, tc.wantExists)
			}
		})
	}
	if _, err := s.GetToken(ctx, "reordered"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a deduplicated create wrote a token: %v", err)
	}
	if evs := allEvents(t, s, store.EventQuery{EntityID: "reordered"}); len(evs) != 0 {
		t.Fatalf("a deduplicated create wrote an event: %+v", evs)
	}
}

// testDedupeKeepsFindingTheFirst: a later duplicate (made without dedupe), changed, moved and
// deleted, never takes over what deduplication returns; once the first is gone, whichever token
// dedupe finds next it keeps finding.
func testDedupeKeepsFindingTheFirst(t *testing.T, _ Backend, s store.Store) {
	const number = "4242424242424242"
	mk := func(id string) *store.Token { return dedupeToken(s, id, number, "/pci/high/", "/pci/") }
	mustCreate(t, s, mk("first"), false)
	mustCreate(t, s, mk("later"), false)
	find := func(id string) string {
		t.Helper()
		got, _ := mustCreate(t, s, mk(id), true)
		return got.ID
	}
	if got := find("probe1"); got != "first" {
		t.Fatalf("dedupe found %s, want first", got)
	}
	later, err := s.GetToken(ctx, "later")
	if err != nil {
		t.Fatal(err)
	}
	later.Metadata = map[string]string{"k": "v"}
	if err := s.UpdateToken(ctx, later, ev("update", "later")); err != nil {
		t.Fatal(err)
	}
	if got := find("probe2"); got != "first" {
		t.Fatalf("after the later duplicate changed, dedupe found %s", got)
	}
	later.Containers = []string{"/moved/"}
	if err := s.UpdateToken(ctx, later, ev("update", "later")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteToken(ctx, "later", ev("delete", "later")); err != nil {
		t.Fatal(err)
	}
	if got := find("probe3"); got != "first" {
		t.Fatalf("after a later duplicate came and went, dedupe found %s", got)
	}
	// The first moves to other containers: it is no longer found for the old ones.
	first, _ := s.GetToken(ctx, "first")
	first.Containers = []string{"/elsewhere/"}
	if err := s.UpdateToken(ctx, first, ev("update", "first")); err != nil {
		t.Fatal(err)
	}
	next := find("next")
	if next == "first" {
		t.Fatal("dedupe found a token that moved to other containers")
	}
	if got := find("probe4"); got != next {
		t.Fatalf("dedupe found %s, then %s", next, got)
	}
	if err := s.DeleteToken(ctx, next, ev("delete", next)); err != nil {
		t.Fatal(err)
	}
	if got := find("after-delete"); got == next {
		t.Fatal("dedupe found a deleted token")
	}
}

func testDedupeIgnoresExpired(t *testing.T, _ Backend, s store.Store) {
	const number = "4242424242424242"
	old := dedupeToken(s, "old", number, "/pci/")
	until := time.Now().Add(1200 * time.Millisecond)
	old.ExpiresAt = &until
	mustCreate(t, s, old, false)
	if got, existed := mustCreate(t, s, dedupeToken(s, "dup", number, "/pci/"), true); (got.ID != "old" || !existed) && early(until, 0) {
		t.Fatalf("before expiry dedupe found %s", got.ID)
	}
	waitPast(until)
	if got, existed := mustCreate(t, s, dedupeToken(s, "new", number, "/pci/"), true); got.ID != "new" || existed {
		t.Fatalf("dedupe found %s (existed %v): an expired token", got.ID, existed)
	}
	if got, _ := mustCreate(t, s, dedupeToken(s, "probe", number, "/pci/"), true); got.ID != "new" {
		t.Fatalf("dedupe found %s, want new", got.ID)
	}
}

// testConcurrentDedupe: creates racing with the same value and dedupe on agree on one token.
func testConcurrentDedupe(t *testing.T, _ Backend, s store.Store) {
	const n = 8
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, _, err := s.CreateToken(ctx, dedupeToken(s, fmt.Sprint("race", i), "4242424242424242", "/pci/"), true, ev("create", fmt.Sprint("race", i)))
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = got.ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("racing dedupe creates returned %v", ids)
		}
	}
	if evs := allEvents(t, s, store.EventQuery{Operation: "create"}); len(evs) != 1 {
		t.Fatalf("%d tokens written by racing dedupe creates, want 1", len(evs))
	}
}

func testResolveTokens(t *testing.T, _ Backend, s store.Store) {
	for _, id := range []string{"a", "b"} {
		mustCreate(t, s, card(id, Secrets[0]), false)
	}
	c := card("cvc", Secrets[0])
	c.Ephemeral = map[string]json.RawMessage{"cvc": json.RawMessage(`"123"`)}
	c.EphemeralUntil = time.Now().Add(time.Hour)
	mustCreate(t, s, c, false)
	r := new(store.Resolved)
	for round := range 2 { // the second from the cache
		r.Reset()
		if err := s.ResolveTokens(ctx, []string{"a", "nope", "b", "cvc", "a"}, r); err != nil {
			t.Fatal(err)
		}
		if len(r.Tokens) != 5 {
			t.Fatalf("round %d: %d tokens", round, len(r.Tokens))
		}
		for i, want := range []bool{true, false, true, true, true} {
			if r.Tokens[i].Found != want {
				t.Fatalf("round %d: token %d (%s) found %v", round, i, r.Tokens[i].ID, r.Tokens[i].Found)
			}
		}
		if tk := r.Tokens[0]; string(tk.Type) != "card" || !bytes.Contains(tk.Data, []byte(Secrets[0])) {
			t.Fatalf("round %d: resolved %q %q", round, tk.Type, tk.Data)
		}
		n := 0
		r.Tokens[2].Containers(func(c []byte) bool { n++; return string(c) == "/pci/high/" })
		if n != 1 {
			t.Fatalf("round %d: containers", round)
		}
		if !bytes.Contains(r.Tokens[3].Data, []byte(`"cvc":"123"`)) {
			t.Fatalf("round %d: short-lived field not merged: %s", round, r.Tokens[3].Data)
		}
	}
}

// testResolveCachedAllocs: the proxy's hot path, five cached tokens, allocates
// nothing in any backend.
func testResolveCachedAllocs(t *testing.T, _ Backend, s store.Store) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	ids := []string{"a", "b", "c", "d", "e"}
	for _, id := range ids {
		mustCreate(t, s, card(id, Secrets[0]), false)
	}
	r := new(store.Resolved)
	if err := s.ResolveTokens(ctx, ids, r); err != nil { // fills the cache
		t.Fatal(err)
	}
	run := func() {
		r.Reset()
		if err := s.ResolveTokens(ctx, ids, r); err != nil || len(r.Tokens) != 5 || !r.Tokens[4].Found {
			t.Fatal("resolve failed")
		}
	}
	run()
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Fatalf("resolving 5 cached tokens allocates %.1f times", n)
	}
}

func testResolveSeesWrites(t *testing.T, _ Backend, s store.Store) {
	mustCreate(t, s, card("w", "4242424242424242"), false)
	r := new(store.Resolved)
	resolve := func() store.ResolvedToken {
		t.Helper()
		r.Reset()
		if err := s.ResolveTokens(ctx, []string{"w"}, r); err != nil {
			t.Fatal(err)
		}
		return r.Tokens[0]
	}
	resolve()
	if got, err := s.GetToken(ctx, "w"); err != nil || got.ID != "w" {
		t.Fatal(err)
	}
	if err := s.UpdateToken(ctx, card("w", "5555555555554444"), ev("update", "w")); err != nil {
		t.Fatal(err)
	}
	if tk := resolve(); !bytes.Contains(tk.Data, []byte("5555555555554444")) {
		t.Fatalf("stale after update: %s", tk.Data)
	}
	if got, _ := s.GetToken(ctx, "w"); !bytes.Contains(got.Data, []byte("5555555555554444")) {
		t.Fatalf("stale get after update: %s", got.Data)
	}
	if err := s.DeleteToken(ctx, "w", ev("delete", "w")); err != nil {
		t.Fatal(err)
	}
	if tk := resolve(); tk.Found {
		t.Fatal("a deleted token resolves")
	}
}

func testApplications(t *testing.T, _ Backend, s store.Store) {
	key := Secrets[5]
	now := time.Now().UTC().Truncate(time.Microsecond)
	a := &store.Application{ID: "a1", Name: "n", Type: "private", Permissions: []string{"token:read", "token:create"},
		Containers: []string{"/pci/"}, KeyHash: s.HashKey(key), CreatedAt: now,
		Rules: []store.AccessRule{{Description: "reveal general", Priority: 1, Container: "/general/", Transform: "reveal", Permissions: []string{"token:read", "token:use"}},
			{Priority: 2, Container: "/pci/", Transform: "mask", Permissions: []string{"token:read"}}}}
	if err := s.CreateApplication(ctx, a, ev("create", "a1")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateApplication(ctx, &store.Application{ID: "a1", KeyHash: s.HashKey("other")}, ev("create", "a1")); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate id: %v", err)
	}
	got, err := s.GetApplication(ctx, "a1")
	if err != nil || got.Name != "n" || !slices.Equal(got.Permissions, a.Permissions) || !slices.Equal(got.Containers, a.Containers) || !got.CreatedAt.Equal(now) ||
		!slices.EqualFunc(got.Rules, a.Rules, sameRule) {
		t.Fatalf("get: %v %+v", err, got)
	}
	if got, err := s.ApplicationByKey(ctx, key); err != nil || got.ID != "a1" {
		t.Fatalf("by key: %v", err)
	}
	if _, err := s.ApplicationByKey(ctx, "key_other"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown key: %v", err)
	}
	if err := s.CreateApplication(ctx, &store.Application{ID: "a2", Name: "second", KeyHash: s.HashKey("key_2")}, ev("create", "a2")); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListApplications(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %v %d", err, len(list))
	}
	a.KeyHash, a.Name = s.HashKey("key_new"), "renamed"
	if err := s.UpdateApplication(ctx, a, ev("update", "a1")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplicationByKey(ctx, key); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("the old key still works after rotation")
	}
	if got, err := s.ApplicationByKey(ctx, "key_new"); err != nil || got.Name != "renamed" {
		t.Fatalf("new key: %v", err)
	}
	if err := s.UpdateApplication(ctx, &store.Application{ID: "nope"}, ev("update", "nope")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update missing: %v", err)
	}
	if err := s.DeleteApplication(ctx, "a1", ev("delete", "a1")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplicationByKey(ctx, "key_new"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("a deleted application's key still works")
	}
	if _, err := s.GetApplication(ctx, "a1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	if err := s.DeleteApplication(ctx, "a1", ev("delete", "a1")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete missing: %v", err)
	}
}

func sameRule(a, b store.AccessRule) bool {
	return a.Description == b.Description && a.Priority == b.Priority && a.Container == b.Container &&
		a.Transform == b.Transform && slices.Equal(a.Permissions, b.Permissions)
}

func testDocuments(t *testing.T, _ Backend, s store.Store) {
	for _, c := range []store.Collection{store.Proxies, store.Keys, store.Transforms} {
		t.Run(c.Prefix, func(t *testing.T) {
			doc := []byte(`{"private":"` + Secrets[6] + `","proxy_key":"` + Secrets[7] + `"}`)
			if !c.Sealed {
				doc = []byte(`{"module":"m"}`)
			}
			if err := s.Put(ctx, c, "d1", doc, true, ev("create", "d1")); err != nil {
				t.Fatal(err)
			}
			if err := s.Put(ctx, c, "d1", doc, true, ev("create", "d1")); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("create twice: %v", err)
			}
			if err := s.Put(ctx, c, "nope", doc, false, ev("update", "nope")); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("replace missing: %v", err)
			}
			if got, err := s.Get(ctx, c, "d1"); err != nil || !bytes.Equal(got, doc) {
				t.Fatalf("get: %v %s", err, got)
			}
			if _, err := s.Get(ctx, c, "nope"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("get missing: %v", err)
			}
			if err := s.Put(ctx, c, "d1", []byte(`{"v":2}`), false, ev("update", "d1")); err != nil {
				t.Fatal(err)
			}
			if err := s.Put(ctx, c, "d2", []byte(`{"v":3}`), true, ev("create", "d2")); err != nil {
				t.Fatal(err)
			}
			list, err := s.List(ctx, c)
			if err != nil || len(list) != 2 {
				t.Fatalf("list: %v %d", err, len(list))
			}
			got := []string{string(list[0]), string(list[1])}
			slices.Sort(got)
			if got[0] != `{"v":2}` || got[1] != `{"v":3}` {
				t.Fatalf("list: %q", got)
			}
			for _, id := range []string{"d1", "d2"} {
				if err := s.Delete(ctx, c, id, ev("delete", id)); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Delete(ctx, c, "d1", ev("delete", "d1")); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("delete missing: %v", err)
			}
			if list, err := s.List(ctx, c); err != nil || len(list) != 0 {
				t.Fatalf("list after delete: %v %d", err, len(list))
			}
		})
	}
	// Collections are apart: the same id in two of them is two documents.
	if err := s.Put(ctx, store.Proxies, "same", []byte(`{"p":1}`), true, ev("create", "same")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, store.Keys, "same"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a proxy read as a key: %v", err)
	}
}

// testMutationEvents: every mutation writes the event it was given, with an id and a time.
func testMutationEvents(t *testing.T, _ Backend, s store.Store) {
	before := time.Now()
	mustCreate(t, s, card("m", "4242424242424242"), false)
	s.UpdateToken(ctx, card("m", "4242424242424242"), ev("update", "m"))
	s.CreateApplication(ctx, &store.Application{ID: "m-app", KeyHash: s.HashKey("k")}, ev("create", "m-app"))
	s.UpdateApplication(ctx, &store.Application{ID: "m-app", KeyHash: s.HashKey("k2")}, ev("update", "m-app"))
	s.Put(ctx, store.Proxies, "m-px", []byte(`{}`), true, ev("create", "m-px"))
	s.Delete(ctx, store.Proxies, "m-px", ev("delete", "m-px"))
	s.DeleteApplication(ctx, "m-app", ev("delete", "m-app"))
	s.DeleteToken(ctx, "m", ev("delete", "m"))
	if err := s.Audit(ctx, ev("detokenize", "m"), ev("detokenize", "n")); err != nil {
		t.Fatal(err)
	}
	evs := allEvents(t, s, store.EventQuery{Actor: "app"})
	want := []string{"detokenize n", "detokenize m", "delete m", "delete m-app", "delete m-px", "create m-px", "update m-app", "create m-app", "update m", "create m"}
	var got []string
	for _, e := range evs {
		got = append(got, e.Operation+" "+e.EntityID)
		if e.ID == "" || e.CreatedAt.Before(before.Add(-time.Second)) {
			t.Fatalf("event without id or time: %+v", e)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events\n got %q\nwant %q", got, want)
	}
}

// testRefusedEventNoMutation: a mutation whose event the vault refuses (a NUL byte, invalid
// UTF-8 or an oversized field) fails with ErrInvalidInput and changes nothing.
func testRefusedEventNoMutation(t *testing.T, _ Backend, s store.Store) {
	mustCreate(t, s, card("kept", "4242424242424242"), false)
	s.CreateApplication(ctx, &store.Application{ID: "kept-app", Name: "before", KeyHash: s.HashKey("k")}, ev("create", "kept-app"))
	s.Put(ctx, store.Proxies, "kept-px", []byte(`{"v":1}`), true, ev("create", "kept-px"))
	for _, bad := range []store.Event{
		{EntityType: "token", EntityID: "x", Operation: "create", Actor: "a\x00b"},
		{EntityType: "token", EntityID: "x\xff", Operation: "create", Actor: "a"},
		{EntityType: "token", EntityID: strings.Repeat("x", 1<<16), Operation: "create", Actor: "a"},
	} {
		for _, m := range []struct {
			name string
			do   func() error
		}{
			{"create token", func() error {
				_, _, err := s.CreateToken(ctx, card("refused", "4242424242424242"), false, bad)
				return err
			}},
			{"update token", func() error { return s.UpdateToken(ctx, card("kept", "5555555555554444"), bad) }},
			{"delete token", func() error { return s.DeleteToken(ctx, "kept", bad) }},
			{"create application", func() error {
				return s.CreateApplication(ctx, &store.Application{ID: "refused", KeyHash: s.HashKey("r")}, bad)
			}},
			{"update application", func() error {
				return s.UpdateApplication(ctx, &store.Application{ID: "kept-app", Name: "after", KeyHash: s.HashKey("k")}, bad)
			}},
			{"delete application", func() error { return s.DeleteApplication(ctx, "kept-app", bad) }},
			{"put document", func() error { return s.Put(ctx, store.Proxies, "kept-px", []byte(`{"v":2}`), false, bad) }},
			{"delete document", func() error { return s.Delete(ctx, store.Proxies, "kept-px", bad) }},
			{"audit", func() error { return s.Audit(ctx, ev("detokenize", "kept"), bad) }},
		} {
			if err := m.do(); !errors.Is(err, store.ErrInvalidInput) {
				t.Fatalf("%s with a refused event: %v, want ErrInvalidInput", m.name, err)
			}
		}
	}
	if _, err := s.GetToken(ctx, "refused"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("refused create wrote the token: %v", err)
	}
	if got, err := s.GetToken(ctx, "kept"); err != nil || !bytes.Contains(got.Data, []byte("4242424242424242")) {
		t.Fatalf("refused update or delete changed the token: %v", err)
	}
	if got, err := s.GetApplication(ctx, "kept-app"); err != nil || got.Name != "before" {
		t.Fatalf("refused update or delete changed the application: %v", err)
	}
	if _, err := s.GetApplication(ctx, "refused"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("refused create wrote the application: %v", err)
	}
	if got, err := s.Get(ctx, store.Proxies, "kept-px"); err != nil || string(got) != `{"v":1}` {
		t.Fatalf("refused put or delete changed the document: %v %s", err, got)
	}
	if evs := allEvents(t, s, store.EventQuery{}); len(evs) != 3 {
		t.Fatalf("%d events, want the 3 of the accepted mutations: %+v", len(evs), evs)
	}
	// The same rule for ids: a NUL byte is refused.
	if _, _, err := s.CreateToken(ctx, card("a\x00b", "4242424242424242"), false, ev("create", "ok")); !errors.Is(err, store.ErrInvalidInput) {
		t.Fatalf("token id with NUL: %v", err)
	}
	if _, err := s.GetToken(ctx, "a\x00b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get with a NUL id: %v", err)
	}
}

func testEventsPaging(t *testing.T, _ Backend, s store.Store) {
	start := time.Now()
	for i := range 12 {
		mustCreate(t, s, card(fmt.Sprint("p", i), "4242424242424242"), false)
		evs := make([]store.Event, 1+i%5)
		for k := range evs {
			evs[k] = store.Event{EntityType: "token", EntityID: fmt.Sprint("p", i), Operation: "detokenize", Actor: fmt.Sprint("actor", i%2), ProxyID: "px"}
		}
		if err := s.Audit(ctx, evs...); err != nil {
			t.Fatal(err)
		}
	}
	total := 12 + (1+2+3+4+5)*2 + 1 + 2
	for _, size := range []int{1, 3, 7, 100} {
		evs := allEvents(t, s, store.EventQuery{Size: size})
		if len(evs) != total {
			t.Fatalf("size %d: %d events, want %d", size, len(evs), total)
		}
		seen := map[string]bool{}
		for i, e := range evs {
			if seen[e.ID] {
				t.Fatalf("size %d: event %s twice", size, e.ID)
			}
			seen[e.ID] = true
			if i > 0 && evs[i-1].ID <= e.ID {
				t.Fatalf("size %d: not newest first at %d", size, i)
			}
			if i > 0 && evs[i-1].CreatedAt.Before(e.CreatedAt) {
				t.Fatalf("size %d: times not newest first at %d", size, i)
			}
		}
		if evs[0].EntityID != "p11" || evs[0].Operation != "detokenize" || evs[len(evs)-1].Operation != "create" {
			t.Fatalf("size %d: ends %+v %+v", size, evs[0], evs[len(evs)-1])
		}
	}
	count := func(q store.EventQuery) int { return len(allEvents(t, s, q)) }
	for _, tc := range []struct {
		name string
		q    store.EventQuery
		want int
	}{
		{"entity", store.EventQuery{EntityID: "p4"}, 1 + 5},
		{"entity type", store.EventQuery{EntityType: "token"}, total},
		{"operation", store.EventQuery{Operation: "create"}, 12},
		{"actor", store.EventQuery{Actor: "actor1"}, 2 + 4 + 1 + 3 + 5 + 2},
		{"entity and operation", store.EventQuery{EntityID: "p9", Operation: "detokenize"}, 5},
		{"since now", store.EventQuery{Since: time.Now().Add(time.Minute)}, 0},
		{"since start", store.EventQuery{Since: start.Add(-time.Second)}, total},
		{"until start", store.EventQuery{Until: start.Add(-time.Second)}, 0},
		{"no match", store.EventQuery{EntityType: "application"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.Size = 4
			if got := count(tc.q); got != tc.want {
				t.Fatalf("%d events, want %d", got, tc.want)
			}
		})
	}
	if page, next, err := s.Events(ctx, store.EventQuery{}); err != nil || len(page) != 20 || next == "" {
		t.Fatalf("default page: %v %d %q", err, len(page), next)
	}
	if page, _, err := s.Events(ctx, store.EventQuery{Size: 1000}); err != nil || len(page) != 100 && len(page) != total {
		t.Fatalf("page size above 100: %v %d", err, len(page))
	}
	for _, bad := range []string{"zz", "00ff", strings.Repeat("g", 32)} {
		if _, _, err := s.Events(ctx, store.EventQuery{Start: bad}); !errors.Is(err, store.ErrInvalidInput) {
			t.Fatalf("cursor %q: %v", bad, err)
		}
	}
}

func testFlippedToken(t *testing.T, b Backend, s store.Store) {
	mustCreate(t, s, card("f", Secrets[0]), false)
	r := new(store.Resolved)
	if err := s.ResolveTokens(ctx, []string{"f"}, r); err != nil {
		t.Fatal(err)
	}
	b.FlipToken(t, s, "f")
	if tok, err := s.GetToken(ctx, "f"); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("flipped: err=%v token=%v", err, tok)
	}
	r.Reset()
	if err := s.ResolveTokens(ctx, []string{"f"}, r); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("flipped, resolve: %v", err)
	}
	if err := s.DeleteToken(ctx, "f", ev("delete", "f")); err != nil && !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("delete of a corrupt token: %v", err)
	}
}

func testFlippedDocument(t *testing.T, b Backend, s store.Store) {
	for _, c := range []store.Collection{store.Proxies, store.Keys} {
		if err := s.Put(ctx, c, "f", []byte(`{"private":"`+Secrets[6]+`"}`), true, ev("create", "f")); err != nil {
			t.Fatal(err)
		}
		b.FlipDocument(t, s, c, "f")
		if doc, err := s.Get(ctx, c, "f"); !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("%s: flipped: err=%v doc=%q", c.Prefix, err, doc)
		}
		if _, err := s.List(ctx, c); !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("%s: flipped, list: %v", c.Prefix, err)
		}
	}
}

func testKeyedHashes(t *testing.T, _ Backend, s store.Store) {
	a, b := s.Fingerprint("card", []byte("4242")), s.Fingerprint("card", []byte("4242"))
	if a != b || a == "" || a == s.Fingerprint("token", []byte("4242")) || a == s.Fingerprint("card", []byte("4243")) {
		t.Fatalf("fingerprints %q %q", a, b)
	}
	if strings.Contains(a, "4242") {
		t.Fatal("fingerprint shows the value")
	}
	h := s.HashKey("key_x")
	if !bytes.Equal(h, s.HashKey("key_x")) || bytes.Equal(h, s.HashKey("key_y")) || len(h) < 16 {
		t.Fatalf("key hashes %x", h)
	}
}

func testClosed(t *testing.T, _ Backend, s store.Store) {
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetToken(ctx, "never-read"); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("get after close: %v", err)
	}
	if _, _, err := s.CreateToken(ctx, card("late", "4242424242424242"), false, ev("create", "late")); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("create after close: %v", err)
	}
}
