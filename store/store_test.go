package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/sluice-edge/sluice/store/internal/journal"
)

var ctx = context.Background()

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

// SizesAtTestScale is Badger at test scale: each open allocates and zeroes its memtable arena and
// caches, and the first audit event its journal segment (in RAM under /dev/shm, where allocating
// is zeroing); page faults are most of a small vault's cost on a small VM. Tests of sizes, disk
// use and memory set their own.
var SizesAtTestScale = Sizes{MemTableBytes: 1 << 20, BlockCacheBytes: 1 << 20, IndexCacheBytes: 1 << 20, AuditSegmentBytes: 1 << 20}

// openAt opens the vault in dir: at test scale in tests, with the edge's sizes in benchmarks.
func openAt(t testing.TB, dir string, key []byte) Store {
	t.Helper()
	opt := Options{Dir: dir, MasterKey: key}
	if _, bench := t.(*testing.B); !bench {
		opt.Sizes = SizesAtTestScale
	}
	s, err := Open(opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// openEdgeSized opens the vault in dir with the edge's sizes: a full batch of MaxTokenBatch
// tokens needs the edge's memtable (Badger takes at most 15% of one in a transaction).
func openEdgeSized(t testing.TB, dir string, key []byte) Store {
	t.Helper()
	s, err := Open(Options{Dir: dir, MasterKey: key})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func card(id, number string) *Token {
	return &Token{ID: id, Type: "card", Data: []byte(`{"number":"` + number + `","expiration_month":12,"expiration_year":2031}`),
		Containers: []string{"/pci/high/"}, CreatedAt: time.Now().UTC()}
}

// TestFlippedSealedByteIsAnError flips every byte of a stored sealed token in turn: each read is an
// error, never other plaintext.
func TestFlippedSealedByteIsAnError(t *testing.T) {
	t.Parallel()
	st := openAt(t, vaultDir(t), testKey(1))
	defer st.Close()
	s := st.(*badgerStore)
	if _, _, err := s.CreateToken(ctx, card("f", "4242424242424242"), false, Event{}); err != nil {
		t.Fatal(err)
	}
	var raw []byte
	s.db.View(func(txn *badger.Txn) error {
		item, _ := txn.Get(tokenKey("f"))
		raw, _ = item.ValueCopy(nil)
		return nil
	})
	for i := range raw {
		c := bytes.Clone(raw)
		c[i] ^= 0x01
		s.db.Update(func(txn *badger.Txn) error { return txn.Set(tokenKey("f"), c) })
		if tok, err := s.GetToken(ctx, "f"); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("byte %d flipped: err=%v token=%v", i, err, tok)
		}
	}
}

func dirDigest(t *testing.T, dir string) string {
	var names []string
	sums := map[string][32]byte{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		names = append(names, p)
		sums[p] = sha256.Sum256(b)
		return nil
	})
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		s := sums[n]
		fmt.Fprintf(h, "%s %x\n", n, s)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// TestWrongMasterKeyRefusedAndHarmless: the wrong key is refused with ErrWrongKey, no file changes,
// and the right key still opens the data.
func TestWrongMasterKeyRefusedAndHarmless(t *testing.T) {
	t.Parallel()
	dir := vaultDir(t)
	s := openAt(t, dir, testKey(1))
	if _, _, err := s.CreateToken(ctx, card("w", "4242424242424242"), false, Event{}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	before := dirDigest(t, dir)
	if _, err := Open(Options{Dir: dir, MasterKey: testKey(2)}); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("wrong key: %v", err)
	}
	if after := dirDigest(t, dir); after != before {
		t.Fatal("opening with the wrong key changed files")
	}
	s = openAt(t, dir, testKey(1))
	defer s.Close()
	if _, err := s.GetToken(ctx, "w"); err != nil {
		t.Fatal(err)
	}
}

// TestNoPlaintextAtRest stores distinctive values and greps every file of the data dir for them.
func TestNoPlaintextAtRest(t *testing.T) {
	t.Parallel()
	dir := vaultDir(t)
	s := openAt(t, dir, testKey(3))
	secrets := []string{"4111111111111111", "ZEBRA-PLAINTEXT-MARKER", "987-65-4329"}
	for i, v := range secrets {
		tok := &Token{ID: fmt.Sprint("p", i), Type: "token", Data: []byte(`"` + v + `"`), Metadata: map[string]string{"note": "METADATA-MARKER"}}
		tok.Ephemeral = map[string]json.RawMessage{"cvc": json.RawMessage(`"CVC-MARKER-` + v + `"`)}
		tok.EphemeralUntil = time.Now().Add(time.Hour)
		if _, _, err := s.CreateToken(ctx, tok, false, Event{EntityType: "token", EntityID: tok.ID, Operation: "create"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put(ctx, Keys, "k1", []byte(`{"private":"PRIVATE-KEY-MARKER"}`), true, Event{}); err != nil {
		t.Fatal(err)
	}
	s.Close() // flush memtables into SSTs too
	needles := append(secrets, "METADATA-MARKER", "CVC-MARKER", "PRIVATE-KEY-MARKER")
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		for _, n := range needles {
			if bytes.Contains(b, []byte(n)) {
				t.Errorf("%s contains plaintext %q", p, n)
			}
		}
		return nil
	})
}

func BenchmarkTokenCreate(b *testing.B) {
	s := openAt(b, vaultDir(b), testKey(1))
	defer s.Close()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, _, err := s.CreateToken(ctx, card(fmt.Sprint("b", i), "4242424242424242"), false, Event{Operation: "create"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTokenGet(b *testing.B) {
	s := openAt(b, vaultDir(b), testKey(1))
	defer s.Close()
	s.CreateToken(ctx, card("g", "4242424242424242"), false, Event{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.GetToken(ctx, "g"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSealedCache: hits serve the same token, the cache holds only sealed bytes, writes
// invalidate, and a corrupted cached entry is an error like a corrupted disk record.
func TestSealedCache(t *testing.T) {
	t.Parallel()
	st := openAt(t, vaultDir(t), testKey(1))
	defer st.Close()
	s := st.(*badgerStore)
	if _, _, err := s.CreateToken(ctx, card("c1", "4242424242424242"), false, Event{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetToken(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	e := s.cache.get("c1")
	if e == nil {
		t.Fatal("read did not fill the cache")
	}
	if bytes.Contains(e.token, []byte("4242424242424242")) {
		t.Fatal("the cache holds plaintext")
	}
	got, err := s.GetToken(ctx, "c1")
	if err != nil || !bytes.Contains(got.Data, []byte("4242424242424242")) {
		t.Fatalf("cache hit: %v", err)
	}
	got.Metadata = map[string]string{"v": "2"}
	if err := s.UpdateToken(ctx, got, Event{}); err != nil {
		t.Fatal(err)
	}
	if s.cache.get("c1") != nil {
		t.Fatal("update left a stale entry")
	}
	if got, _ = s.GetToken(ctx, "c1"); got.Metadata["v"] != "2" {
		t.Fatal("stale read after update")
	}
	e = s.cache.get("c1")
	e.token[len(e.token)-1] ^= 1
	if _, err := s.GetToken(ctx, "c1"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupted cache entry: %v", err)
	}
	if err := s.DeleteToken(ctx, "c1", Event{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetToken(ctx, "c1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted token still served: %v", err)
	}
}

func BenchmarkGetTokensCached(b *testing.B) {
	s := openAt(b, vaultDir(b), testKey(1))
	defer s.Close()
	ids := []string{"a", "b", "c", "d", "e"}
	for _, id := range ids {
		s.CreateToken(ctx, card(id, "4242424242424242"), false, Event{})
	}
	s.GetTokens(ctx, ids)
	b.ReportAllocs()
	for b.Loop() {
		if m, err := s.GetTokens(ctx, ids); err != nil || len(m) != 5 {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetTokensVault(b *testing.B) {
	st, _ := Open(Options{Dir: vaultDir(b), MasterKey: testKey(1), TokenCacheSize: -1})
	defer st.Close()
	ids := []string{"a", "b", "c", "d", "e"}
	for _, id := range ids {
		st.CreateToken(ctx, card(id, "4242424242424242"), false, Event{})
	}
	b.ReportAllocs()
	for b.Loop() {
		if m, err := st.GetTokens(ctx, ids); err != nil || len(m) != 5 {
			b.Fatal(err)
		}
	}
}

// journalModes runs f with the journal memory-mapping its segments (the default on Linux) and
// with write(2), as on a file system that cannot allocate ahead.
// TestJournalTornRecordAndRestart: a record cut short by a crash mid-write is skipped and the
// ones before it kept; after a restart appends go to a new segment, with later ids.
// TestAuditJournalFlippedByteIsErrCorrupt: a changed byte in a journal segment fails the
// query with the vault's ErrCorrupt; it never yields a made-up event.
func TestAuditJournalFlippedByteIsErrCorrupt(t *testing.T) {
	t.Parallel()
	dir := vaultDir(t)
	st := openAt(t, dir, testKey(1))
	st.Audit(ctx, Event{EntityType: "token", EntityID: "x", Operation: "detokenize"})
	st.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "audit", "audit-*.log"))
	if len(files) != 1 {
		t.Fatalf("%d journal segments", len(files))
	}
	b, _ := os.ReadFile(files[0])
	b[len(b)/2] ^= 1
	os.WriteFile(files[0], b, 0o600)
	st = openAt(t, dir, testKey(1))
	defer st.Close()
	if _, _, err := st.Events(ctx, EventQuery{}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err %v, want ErrCorrupt", err)
	}
}

// TestJournalErrorsKeepVaultMeaning: a full file system under the journal is ErrDiskLow (an
// ErrUnavailable: 503), a corrupt record ErrCorrupt.
func TestJournalErrorsKeepVaultMeaning(t *testing.T) {
	t.Parallel()
	full := fmt.Errorf("%w: %w", journal.ErrNoSpace, syscall.ENOSPC)
	if err := journalErr(full); !errors.Is(err, ErrDiskLow) || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("full: %v", err)
	}
	if err := journalErr(fmt.Errorf("journal x: %w", journal.ErrCorrupt)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupt: %v", err)
	}
	if err := journalErr(nil); err != nil {
		t.Fatal(err)
	}
}

// TestJournalSegmentsAndMarks: with tiny segments and marks, paging with every page size walks
// every event once, newest first, across segments, chunks and a restart (segments indexed
// lazily), merged with the events Badger holds.
// TestJournalClockStepBack: an event whose time is not after the last one's gets a later id and
// says that time, so a query with Since between the two still finds it.
// TestJournalCrashLeftovers: a trailing segment without a single record (a crash right after a
// mapped segment was created) is removed at the next start; a corrupt old segment fails only
// the queries that reach it.
// TestJournalWriteFailure: a failed write fails the appends it carried, and nothing else; the
// next append starts a new segment and succeeds.
// TestJournalConcurrentAppendsLoseNothing: appends from many goroutines racing queries all end
// up in the log once, newest first.
// TestEventsPagesThroughGroupedRecords: the events of one audited request are one Badger entry;
// pages may end inside it, and every event is listed once, newest first.
func TestEventsPagesThroughGroupedRecords(t *testing.T) {
	t.Parallel()
	s := openAt(t, vaultDir(t), testKey(1))
	defer s.Close()
	want := 0
	for r := 0; r < 7; r++ {
		evs := make([]Event, 5)
		for i := range evs {
			evs[i] = Event{EntityType: "token", EntityID: fmt.Sprintf("r%d-e%d", r, i), Operation: "detokenize", Actor: "a"}
		}
		if err := s.Audit(ctx, evs...); err != nil {
			t.Fatal(err)
		}
		want += len(evs)
		// A mutation's event between the records, in its own entry.
		if _, _, err := s.CreateToken(ctx, card(fmt.Sprint("g", r), "4242424242424242"), false, Event{EntityType: "token", EntityID: fmt.Sprint("g", r), Operation: "create"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, size := range []int{1, 3, 5, 7, 100} {
		var all []Event
		cursor := ""
		for {
			page, next, err := s.Events(ctx, EventQuery{Size: size, Start: cursor})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, page...)
			if next == "" {
				break
			}
			cursor = next
		}
		if len(all) != want+7 {
			t.Fatalf("size %d: %d events, want %d", size, len(all), want+7)
		}
		seen := map[string]bool{}
		for i, ev := range all {
			if seen[ev.ID] {
				t.Fatalf("size %d: event %s twice", size, ev.ID)
			}
			seen[ev.ID] = true
			if i > 0 && all[i-1].ID <= ev.ID {
				t.Fatalf("size %d: not newest first at %d", size, i)
			}
		}
		if all[0].EntityID != "g6" || all[1].EntityID != "r6-e4" {
			t.Fatalf("size %d: order %s, %s", size, all[0].EntityID, all[1].EntityID)
		}
	}
	evs, _, _ := s.Events(ctx, EventQuery{EntityID: "r3-e2"})
	if len(evs) != 1 {
		t.Fatalf("filter inside a group: %d", len(evs))
	}
}

// TestResolveCachedTokensAlloc: resolving tokens that are in the sealed cache allocates nothing.
func TestResolveCachedTokensAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	s := openAt(t, vaultDir(t), testKey(1))
	defer s.Close()
	ids := []string{"a", "b", "c", "d", "e"}
	for _, id := range ids {
		tok := card(id, "4242424242424242")
		until := time.Now().Add(time.Hour)
		tok.ExpiresAt = &until
		s.CreateToken(ctx, tok, false, Event{})
	}
	r := new(Resolved)
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
	if n := testing.AllocsPerRun(200, run); n != 0 {
		t.Fatalf("resolving 5 cached tokens allocates %.1f times", n)
	}
	if !bytes.Contains(r.Tokens[0].Data, []byte("4242424242424242")) || string(r.Tokens[0].Type) != "card" {
		t.Fatalf("resolved %q %q", r.Tokens[0].Type, r.Tokens[0].Data)
	}
	n := 0
	r.Tokens[0].Containers(func(c []byte) bool { n++; return string(c) == "/pci/high/" })
	if n != 1 {
		t.Fatal("containers")
	}
	// Unknown and expired ids are not found; a cvc-bearing token is decoded in full.
	c := card("cvc", "4242424242424242")
	c.Ephemeral = map[string]json.RawMessage{"cvc": json.RawMessage(`"123"`)}
	c.EphemeralUntil = time.Now().Add(time.Hour)
	s.CreateToken(ctx, c, false, Event{})
	r.Reset()
	s.ResolveTokens(ctx, []string{"nope", "cvc", "cvc"}, r)
	if r.Tokens[0].Found || !r.Tokens[1].Found || !r.Tokens[2].Found || !bytes.Contains(r.Tokens[2].Data, []byte(`"cvc":"123"`)) {
		t.Fatalf("resolve: %+v", r.Tokens)
	}
	r.Reset()
	if len(r.buf) != 0 {
		t.Fatal("reset kept plaintext")
	}
}

func BenchmarkResolveTokensCached(b *testing.B) {
	s := openAt(b, vaultDir(b), testKey(1))
	defer s.Close()
	ids := []string{"a", "b", "c", "d", "e"}
	for _, id := range ids {
		s.CreateToken(ctx, card(id, "4242424242424242"), false, Event{})
	}
	r := new(Resolved)
	s.ResolveTokens(ctx, ids, r)
	b.ReportAllocs()
	for b.Loop() {
		r.Reset()
		if err := s.ResolveTokens(ctx, ids, r); err != nil {
			b.Fatal(err)
		}
	}
}

// TestJournalShortEvents: the events of one record that differ only in their entity id are
// stored short and read back exactly as written, beside events that differ in more; a record
// in the older all-JSON layout reads the same; malformed short entries are corrupt, not a panic.
// TestAuditAllocs: auditing a proxied request's five detokenizations into a mapped journal
// segment allocates nothing (the proxy's hot path).
