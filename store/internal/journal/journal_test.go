package journal

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func detok(id string) Event {
	return Event{EntityType: "token", EntityID: id, Operation: "detokenize"}
}

// TestJournalTornRecordAndRestart: a record cut short by a crash mid-write is skipped and the
// ones before it kept; after a restart appends go to a new segment, with later ids.
func TestJournalTornRecordAndRestart(t *testing.T) {
	journalModes(t, func(t *testing.T, writeOnly bool) {
		dir := t.TempDir()
		j := openJournal(t, dir, testSyncEvery)
		j.noMap = writeOnly
		for i := 0; i < 3; i++ {
			if err := j.Append([]Event{detok(fmt.Sprint("j", i))}); err != nil {
				t.Fatal(err)
			}
		}
		if writeOnly {
			j.f.Write([]byte{0, 0, 1, 0, 'x'}) // a torn record: the crash hit mid-write
		} else {
			if j.mapped == nil {
				t.Fatal("the journal did not map its segment")
			}
			// The crash hit mid-copy: the body is there, its length (copied last) is not; and
			// the segment was never cut to size.
			end := j.segs[len(j.segs)-1].size
			copy(j.mapped.mem[end+4:], "partial record body")
			j.mapped = nil
		}
		j.Close()

		j = openJournal(t, dir, testSyncEvery)
		defer j.Close()
		j.noMap = writeOnly
		if err := j.Append([]Event{detok("after")}); err != nil {
			t.Fatal(err)
		}
		evs := all(t, j, "detokenize")
		if len(evs) != 4 {
			t.Fatalf("%d events after restart", len(evs))
		}
		for i, want := range []string{"after", "j2", "j1", "j0"} {
			if evs[i].EntityID != want {
				t.Fatalf("event %d is %s, want %s", i, evs[i].EntityID, want)
			}
		}
		files, _ := j.files()
		if len(files) != 2 {
			t.Fatalf("%d segments, want the old one and a new one", len(files))
		}
		if fi, _ := os.Stat(j.path(files[0])); fi.Size() != j.segs[0].size {
			t.Fatalf("the crashed segment is %d bytes, its records %d", fi.Size(), j.segs[0].size)
		}
	})
}

// TestJournalFlippedByteIsAnError: a changed byte in a segment fails the query (ErrCorrupt);
// it never yields a made-up event.
func TestJournalFlippedByteIsAnError(t *testing.T) {
	dir := t.TempDir()
	j := openJournal(t, dir, testSyncEvery)
	j.Append([]Event{detok("x")})
	j.Close()
	files, _ := j.files()
	path := j.path(files[0])
	b, _ := os.ReadFile(path)
	b[len(b)/2] ^= 1
	os.WriteFile(path, b, 0o600)
	j = openJournal(t, dir, testSyncEvery)
	defer j.Close()
	if _, _, err := page(j, 20, "", ""); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err %v, want ErrCorrupt", err)
	}
}

// TestJournalSegmentsAndMarks: with tiny segments and marks, paging with every page size walks
// every event once, newest first, across segments, chunks and a restart (segments indexed
// lazily).
func TestJournalSegmentsAndMarks(t *testing.T) {
	journalModes(t, testJournalSegmentsAndMarks)
}

func testJournalSegmentsAndMarks(t *testing.T, writeOnly bool) {
	dir := t.TempDir()
	var want []string // entity ids, oldest first
	write := func(j *Journal, round int) {
		j.rotateBytes, j.markBytes, j.noMap = 4<<10, 700, writeOnly
		for r := 0; r < 40; r++ {
			evs := make([]Event, 1+r%4)
			for i := range evs {
				evs[i] = Event{EntityType: "token", EntityID: fmt.Sprintf("%d-%d-%d", round, r, i), Operation: "detokenize", Actor: "a"}
				want = append(want, evs[i].EntityID)
			}
			if err := j.Append(evs); err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func(j *Journal) {
		t.Helper()
		for _, size := range []int{1, 2, 7, 100} {
			var got []string
			cursor, last := "", ""
			for {
				evs, next, err := page(j, size, cursor, "")
				if err != nil {
					t.Fatal(err)
				}
				for _, ev := range evs {
					if last != "" && ev.ID >= last {
						t.Fatalf("size %d: not newest first at %s", size, ev.EntityID)
					}
					last = ev.ID
					got = append(got, ev.EntityID)
				}
				if next == "" {
					break
				}
				cursor = next
			}
			if len(got) != len(want) {
				t.Fatalf("size %d: %d events, want %d", size, len(got), len(want))
			}
			for i := range got {
				if got[i] != want[len(want)-1-i] {
					t.Fatalf("size %d: event %d is %s, want %s", size, i, got[i], want[len(want)-1-i])
				}
			}
		}
	}
	j := openJournal(t, dir, testSyncEvery)
	write(j, 0)
	check(j)
	j.Close()
	j = openJournal(t, dir, testSyncEvery)
	defer j.Close()
	check(j)
	write(j, 1)
	check(j)
	if files, _ := j.files(); len(files) < 4 {
		t.Fatalf("only %d segments: the test meant to cross several", len(files))
	}
}

// TestJournalClockStepBack: an event whose time is not after the last one's gets a later id and
// says that time, so a query that stops at an earlier time still finds it.
func TestJournalClockStepBack(t *testing.T) {
	j := openJournal(t, t.TempDir(), testSyncEvery)
	defer j.Close()
	t2 := time.Now().UTC()
	t1 := t2.Add(-time.Hour) // the clock stepped back an hour
	first, second := detok("first"), detok("second")
	first.CreatedAt, second.CreatedAt = t2, t1
	j.Append([]Event{first})
	j.Append([]Event{second})
	evs := all(t, j, "detokenize")
	if len(evs) != 2 || evs[0].EntityID != "second" || evs[0].CreatedAt.Before(t2) || Nanos(evs[0].ID) < t2.UnixNano() {
		t.Fatalf("%+v", evs)
	}
}

// TestJournalCrashLeftovers: a trailing segment without a single record (a crash right after a
// mapped segment was created) is removed at the next start; a corrupt old segment fails only
// the queries that reach it.
func TestJournalCrashLeftovers(t *testing.T) {
	dir := t.TempDir()
	j := openJournal(t, dir, testSyncEvery)
	j.Append([]Event{detok("old")})
	j.Close()
	j = openJournal(t, dir, testSyncEvery)
	j.Append([]Event{detok("new")})
	j.Close()
	zeros := j.path(j.seq + 1)
	os.WriteFile(zeros, make([]byte, 64<<10), 0o600)
	files, _ := j.files()
	first := j.path(files[0])
	b, _ := os.ReadFile(first)
	b[len(b)-3] ^= 1
	os.WriteFile(first, b, 0o600)

	j = openJournal(t, dir, testSyncEvery)
	defer j.Close()
	if _, err := os.Stat(zeros); !os.IsNotExist(err) {
		t.Fatalf("the empty trailing segment is still there: %v", err)
	}
	evs, next, err := page(j, 1, "", "")
	if err != nil || len(evs) != 1 || evs[0].EntityID != "new" {
		t.Fatalf("newest page: %v %+v", err, evs)
	}
	if _, _, err := page(j, 1, next, ""); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("reaching the corrupt segment: %v, want ErrCorrupt", err)
	}
}

// TestJournalWriteFailure: a failed write fails the appends it carried, and nothing else; the
// next append starts a new segment and succeeds.
func TestJournalWriteFailure(t *testing.T) {
	j := openJournal(t, t.TempDir(), testSyncEvery)
	defer j.Close()
	j.noMap = true // a mapped segment has no write to fail
	if err := j.Append([]Event{detok("before")}); err != nil {
		t.Fatal(err)
	}
	if j.f == nil {
		t.Fatal("no write(2) segment open")
	}
	j.f.Close() // the next write fails
	if err := j.Append([]Event{detok("lost")}); err == nil {
		t.Fatal("an append whose write failed reported success")
	}
	if err := j.Append([]Event{detok("after")}); err != nil {
		t.Fatal(err)
	}
	evs := all(t, j, "detokenize")
	if len(evs) != 2 || evs[0].EntityID != "after" || evs[1].EntityID != "before" {
		t.Fatalf("%+v", evs)
	}
}

// TestJournalConcurrentAppendsLoseNothing: appends from many goroutines racing queries all end
// up in the log once, newest first.
func TestJournalConcurrentAppendsLoseNothing(t *testing.T) {
	journalModes(t, testJournalConcurrentAppends)
}

func testJournalConcurrentAppends(t *testing.T, writeOnly bool) {
	j := openJournal(t, t.TempDir(), testSyncEvery)
	defer j.Close()
	j.rotateBytes, j.markBytes, j.noMap = 64<<10, 4<<10, writeOnly
	const writers, each = 8, 300
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			default:
				page(j, 5, "", "")
			}
		}
	}()
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := j.Append([]Event{detok("x")}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	evs := all(t, j, "detokenize")
	for i := 1; i < len(evs); i++ {
		if evs[i].ID >= evs[i-1].ID {
			t.Fatal("not newest first")
		}
	}
	if len(evs) != writers*each {
		t.Fatalf("%d of %d audited events are in the log", len(evs), writers*each)
	}
}

// TestJournalShortEvents: the events of one record that differ only in their entity id are
// stored short and read back exactly as written, beside events that differ in more; a record
// with every event in full reads the same; malformed short entries are corrupt, not a panic.
func TestJournalShortEvents(t *testing.T) {
	j := openJournal(t, t.TempDir(), testSyncEvery)
	defer j.Close()
	at := time.Date(2026, 11, 24, 10, 0, 0, 123456789, time.UTC)
	evs := []Event{
		{EntityType: "token", EntityID: "a", Operation: "detokenize", Actor: "app", ProxyID: "px", CreatedAt: at},
		{EntityType: "token", EntityID: "b", Operation: "detokenize", Actor: "app", ProxyID: "px", CreatedAt: at},
		{EntityType: "token", EntityID: "c", Operation: "reveal", Actor: "app", ProxyID: "px", CreatedAt: at},
		{EntityType: "token", EntityID: "d", Operation: "detokenize", Actor: "app", CreatedAt: at},
		{EntityType: "token", EntityID: strings.Repeat("e", 300), Operation: "detokenize", Actor: "app", ProxyID: "px", CreatedAt: at},
	}
	b := j.newBatch()
	if err := j.encode(b, slices.Clone(evs), time.Time{}); err != nil {
		t.Fatal(err)
	}
	got, err := j.decode(b.buf[4:], nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(evs) {
		t.Fatalf("%d events read back, %d written", len(got), len(evs))
	}
	short := 0
	for i, ev := range got {
		if want := evs[i]; ev.EntityID != want.EntityID || !sameButEntity(&ev, &want) {
			t.Errorf("event %d: read %+v, wrote %+v", i, ev, want)
		}
		if i > 0 && ev.ID <= got[i-1].ID {
			t.Errorf("event %d: id %s not after %s", i, ev.ID, got[i-1].ID)
		}
		if i > 0 && sameButEntity(&evs[i], &evs[0]) {
			short++
		}
	}
	if short != 2 {
		t.Fatalf("test expects 2 short events, has %d", short)
	}

	// Every event in full (as a record without shared events is written) reads the same.
	plain := []byte(nil)
	for i, ev := range got {
		k, _ := hex.DecodeString(ev.ID)
		plain = append(append(plain, KeyPrefix...), k...)
		lenAt := len(plain)
		plain = append(plain, 0, 0)
		plain = appendEventJSON(plain, &evs[i], []byte(ev.ID), []byte(at.Format(time.RFC3339Nano)))
		binary.BigEndian.PutUint16(plain[lenAt:], uint16(len(plain)-lenAt-2))
	}
	full, err := j.decode(j.seal.Seal(nil, plain, journalAAD), nil)
	if err != nil || !reflect.DeepEqual(full, got) {
		t.Fatalf("all in full: %v\n%+v\n%+v", err, full, got)
	}

	// An entity id that is not valid UTF-8 is stored in full: both forms read back alike.
	bad := []Event{evs[0], evs[1]}
	bad[0].EntityID, bad[1].EntityID = "a\xff", "b\xff"
	b = j.newBatch()
	if err := j.encode(b, slices.Clone(bad), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got, err := j.decode(b.buf[4:], nil); err != nil || got[0].EntityID != "a\ufffd" || got[1].EntityID != "b\ufffd" {
		t.Fatalf("invalid UTF-8: %v %q", err, got)
	}

	// A short entry first in a record, or cut short, is corrupt.
	key := append([]byte(KeyPrefix), make([]byte, 16)...)
	for _, bad := range [][]byte{
		append(slices.Clone(key), 0, 0, 0, 1, 'x'),                                 // no full event before it
		append(slices.Clone(plain), append(slices.Clone(key), 0, 0, 0)...),         // length cut
		append(slices.Clone(plain), append(slices.Clone(key), 0, 0, 0, 9, 'x')...), // id cut
	} {
		if _, err := j.decode(j.seal.Seal(nil, bad, journalAAD), nil); err != ErrCorrupt {
			t.Errorf("%x: %v, want ErrCorrupt", bad, err)
		}
	}
}

// TestAppendAllocs: auditing a proxied request's five detokenizations into a mapped segment
// allocates nothing (the proxy's hot path).
func TestAppendAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	j := openJournal(t, t.TempDir(), testSyncEvery)
	defer j.Close()
	evs := make([]Event, 5)
	for i := range evs {
		evs[i] = Event{EntityType: "token", EntityID: fmt.Sprint("tok-", i), Operation: "detokenize", Actor: "app", CreatedAt: time.Now()}
	}
	if err := j.Append(evs); err != nil {
		t.Fatal(err)
	}
	if j.noMap {
		t.Skip("the file system cannot map journal segments: every record is a write(2)")
	}
	if n := testing.AllocsPerRun(200, func() {
		if err := j.Append(evs); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations per Append of 5 events", n)
	}
}

// TestEventJSONMatchesEncodingJSON: the hand-written audit JSON decodes to the same event.
func TestEventJSONMatchesEncodingJSON(t *testing.T) {
	ev := Event{ID: "00ff", EntityType: "token", EntityID: "id-\"quoted\"\\\x01\u2028", Operation: "detokenize",
		Actor: "app", ProxyID: "p", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)}
	var got Event
	stamp := ev.CreatedAt.AppendFormat(nil, time.RFC3339Nano)
	if err := json.Unmarshal(appendEventJSON(nil, &ev, []byte(ev.ID), stamp), &got); err != nil || got != ev {
		t.Fatalf("%v: %+v", err, got)
	}
}
