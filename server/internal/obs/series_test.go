package obs

import (
	"sync"
	"testing"
)

// TestSeriesLastEntryNeverAnswersAnotherKey: get answers the last key from a remembered entry
// without the lock; alternating keys, from many goroutines at once, must each get their own
// value, resolved once.
func TestSeriesLastEntryNeverAnswersAnotherKey(t *testing.T) {
	var s series[routeStatus, string]
	var mu sync.Mutex
	resolved := map[routeStatus]int{}
	keys := []routeStatus{{"/proxy", 200}, {"/proxy", 400}, {"/tokens", 200}, {"/proxy", 200}}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				k := keys[(i+g)%len(keys)]
				v := s.get(k, func() string {
					mu.Lock()
					resolved[k]++
					mu.Unlock()
					return k.route + "|" + string(rune('0'+k.status/100))
				})
				if want := k.route + "|" + string(rune('0'+k.status/100)); v != want {
					t.Errorf("get(%v) = %q, want %q", k, v, want)
					return
				}
			}
		})
	}
	wg.Wait()
	for k, n := range resolved {
		if n != 1 {
			t.Fatalf("%v resolved %d times", k, n)
		}
	}
}
