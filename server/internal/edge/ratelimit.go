package edge

import (
	"sync"
	"time"
)

// RateLimits bound how often one caller may call. A zero count means no limit.
type RateLimits struct {
	// AnonymousRequests per AnonymousWindow per proxy key and client IP, for pre-configured proxies
	// invoked without an API key (require_auth: false).
	AnonymousRequests int           `yaml:"anonymous_requests"`
	AnonymousWindow   time.Duration `yaml:"anonymous_window"`
	// ApplicationRequests per ApplicationWindow per application, on every route.
	ApplicationRequests int           `yaml:"application_requests"`
	ApplicationWindow   time.Duration `yaml:"application_window"`
}

// limiter counts requests per key in fixed windows. Memory is bounded: when it holds too many
// keys, windows that have ended are dropped.
type limiter struct {
	mu      sync.Mutex
	max     int
	window  time.Duration
	buckets map[string]*bucket
	now     func() time.Time
}

type bucket struct {
	start time.Time
	n     int
}

const maxLimiterKeys = 100_000

func newLimiter(max int, window time.Duration) *limiter {
	if max <= 0 || window <= 0 {
		return nil
	}
	return &limiter{max: max, window: window, buckets: map[string]*bucket{}, now: time.Now}
}

// allow counts one request for key; when over the limit it returns how long until the window
// resets.
func (l *limiter) allow(key string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil || now.Sub(b.start) >= l.window {
		if b == nil && len(l.buckets) >= maxLimiterKeys {
			l.sweep(now)
		}
		if b == nil {
			b = &bucket{}
			l.buckets[key] = b
		}
		b.start, b.n = now, 0
	}
	b.n++
	if b.n > l.max {
		return false, b.start.Add(l.window).Sub(now)
	}
	return true, 0
}

func (l *limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if now.Sub(b.start) >= l.window {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxLimiterKeys { // all live: forget the lot rather than grow
		clear(l.buckets)
	}
}
