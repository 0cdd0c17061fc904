package store_test

import (
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-edge/sluice/store"
)

func openPostgresB(b *testing.B, opt store.PostgresOptions) store.Store {
	opt.MasterKey = testMaster
	s, err := store.OpenPostgres(bg, store.MigratedPostgresDatabase(b), opt)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	b.ResetTimer()
	return s
}

// BenchmarkPostgresTokenCreate: one create (token, dedupe claim, event, change) per transaction,
// from 8 goroutines per CPU.
func BenchmarkPostgresTokenCreate(b *testing.B) {
	s := openPostgresB(b, store.PostgresOptions{})
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprint("b", n.Add(1))
			tok := &store.Token{ID: id, Type: "card", Data: []byte(`{"number":"4242424242424242"}`), Fingerprint: id}
			if _, _, err := s.CreateToken(bg, tok, true, store.Event{EntityType: "token", EntityID: id, Operation: "create"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPostgresAudit5: a proxied request's five detokenization events, group-committed,
// from 8 goroutines per CPU.
func BenchmarkPostgresAudit5(b *testing.B) {
	for _, w := range []struct {
		name   string
		window time.Duration
	}{{"window=none", 0}, {"window=10ms", 10 * time.Millisecond}} {
		b.Run(w.name, func(b *testing.B) {
			benchAudit5(b, openPostgresB(b, store.PostgresOptions{AuditSyncInterval: w.window}))
		})
	}
}

// BenchmarkPostgresAuditLatency: one caller's audit record at a time, with the default settings:
// the latency a lone detokenization waits for its record.
func BenchmarkPostgresAuditLatency(b *testing.B) {
	s := openPostgresB(b, store.PostgresOptions{})
	ev := store.Event{EntityType: "token", EntityID: "tok", Operation: "detokenize", Actor: "app"}
	for b.Loop() {
		if err := s.Audit(bg, ev); err != nil {
			b.Fatal(err)
		}
	}
}

func benchAudit5(b *testing.B, s store.Store) {
	evs := make([]store.Event, 5)
	for i := range evs {
		evs[i] = store.Event{EntityType: "token", EntityID: fmt.Sprint("tok-", i), Operation: "detokenize", Actor: "app"}
	}
	b.SetParallelism(8)
	b.ReportAllocs()
	cpu := processCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.Audit(bg, evs...); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
}

// processCPU is the CPU time this process used so far (user and system), in nanoseconds: the
// callers' and the committer's work together, whichever goroutine did it.
func processCPU() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkPostgresResolveTokensCached: five tokens from this node's sealed cache, as Badger's.
func BenchmarkPostgresResolveTokensCached(b *testing.B) {
	s := openPostgresB(b, store.PostgresOptions{})
	ids := []string{"a", "b", "c", "d", "e"}
	for _, id := range ids {
		s.CreateToken(bg, &store.Token{ID: id, Type: "card", Data: []byte(`{"number":"4242424242424242"}`)}, false, store.Event{Operation: "create"})
	}
	r := new(store.Resolved)
	s.ResolveTokens(bg, ids, r)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r.Reset()
		if err := s.ResolveTokens(bg, ids, r); err != nil {
			b.Fatal(err)
		}
	}
}
