package obs

import "testing"

// TestMetricsObserveAlloc: recording a request in the metrics allocates nothing once its series
// exist.
func TestMetricsObserveAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	m := NewMetrics()
	m.Observe("/proxy", 200, 1000, 1, 5)
	if n := testing.AllocsPerRun(200, func() { m.Observe("/proxy", 200, 1000, 1, 5) }); n != 0 {
		t.Fatalf("observe allocates %.1f times", n)
	}
}
