package obs

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// GuestHTTP are the series of the guests' sluice.http_request calls.
type GuestHTTP struct {
	ok, refused, failed prometheus.Counter
	duration            prometheus.Histogram
}

// Results of a guest's http_request, as metric labels.
const (
	GuestHTTPOK      = "ok"      // the destination answered
	GuestHTTPRefused = "refused" // the destination policy or a size limit refused it
	GuestHTTPFailed  = "failed"  // unreachable, timed out or broken
)

// NewGuestHTTP registers the series in m's registry, each result at 0 from the start.
func NewGuestHTTP(m *Metrics) *GuestHTTP {
	calls := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_guest_http_requests_total",
		Help: "Guests' sluice.http_request calls by result (ok, refused, failed)."}, []string{"result"})
	g := &GuestHTTP{duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sluice_guest_http_duration_seconds",
		Help: "Time guests' sluice.http_request calls spent on their destinations.", Buckets: latencyBuckets})}
	m.reg.MustRegister(calls, g.duration)
	g.ok, g.refused, g.failed = calls.WithLabelValues(GuestHTTPOK), calls.WithLabelValues(GuestHTTPRefused), calls.WithLabelValues(GuestHTTPFailed)
	return g
}

// Done records one call; d is zero for a call refused before it was sent.
func (g *GuestHTTP) Done(result string, d time.Duration) {
	switch result {
	case GuestHTTPOK:
		g.ok.Inc()
	case GuestHTTPRefused:
		g.refused.Inc()
	default:
		g.failed.Inc()
	}
	if d > 0 {
		g.duration.Observe(d.Seconds())
	}
}
