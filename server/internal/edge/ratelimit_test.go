package edge

import (
	"testing"
	"time"
)

func TestLimiterWindowResets(t *testing.T) {
	l := newLimiter(2, time.Second)
	now := time.Unix(1000, 0)
	l.now = func() time.Time { return now }
	for i, want := range []bool{true, true, false} {
		if ok, _ := l.allow("k"); ok != want {
			t.Fatalf("call %d: %v", i, ok)
		}
	}
	now = now.Add(time.Second)
	if ok, _ := l.allow("k"); !ok {
		t.Fatal("window did not reset")
	}
	var nilLimiter *limiter
	if ok, _ := nilLimiter.allow("k"); !ok {
		t.Fatal("no limiter must allow")
	}
}
