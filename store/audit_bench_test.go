package store

import "testing"

func BenchmarkAudit5(b *testing.B) {
	s := openAt(b, vaultDir(b), testKey(1))
	defer s.Close()
	evs := make([]Event, 5)
	for i := range evs {
		evs[i] = Event{EntityType: "token", EntityID: "0b7c1f0e-6b0e-4c65-8d2b-9d0a5b0e2f11", Operation: "detokenize", Actor: "app"}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Audit(ctx, evs...); err != nil {
			b.Fatal(err)
		}
	}
}
