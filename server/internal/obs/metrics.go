package obs

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sluice-edge/sluice/store"
)

// Metrics are the edge's Prometheus series, served on the admin listener only. Labels come from
// fixed sets (route patterns, status codes, allow-listed algorithm names, operation names):
// never a token id, key, host or other caller-controlled text.
type Metrics struct {
	reg            *prometheus.Registry
	requests       *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	destination    prometheus.Histogram
	detokenized    prometheus.Counter
	transformCalls *prometheus.CounterVec
	transformOK    prometheus.Counter // resolved series of transformCalls, one per result
	transformEnded prometheus.Counter
	transformError prometheus.Counter
	transformTime  prometheus.Histogram
	jwe            *prometheus.CounterVec
	vaultOps       *prometheus.CounterVec

	byRoute series[routeStatus, routeSeries] // resolved series: no label hashing per request
	byAlg   series[algResult, prometheus.Counter]
}

// series keeps the series of a vector resolved per label set, so that a request does not hash
// labels (what WithLabelValues does on every call). Label sets are few: routes, statuses and
// algorithm names are bounded.
type series[K comparable, V any] struct {
	mu   sync.Mutex
	m    map[K]*seriesEntry[K, V]
	last atomic.Pointer[seriesEntry[K, V]] // the entry got last: the next request usually wants it
}

type seriesEntry[K comparable, V any] struct {
	k K
	v V
}

// get is the series for k, resolved by resolve on first use.
func (s *series[K, V]) get(k K, resolve func() V) V {
	if e := s.last.Load(); e != nil && e.k == k {
		return e.v // no lock, no hash
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[k]
	if !ok {
		if s.m == nil {
			s.m = map[K]*seriesEntry[K, V]{}
		}
		e = &seriesEntry[K, V]{k, resolve()}
		s.m[k] = e
	}
	s.last.Store(e)
	return e.v
}

type algResult struct {
	alg string
	ok  bool
}

// routeSeries are the series one (route, status) pair records into.
type routeSeries struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

type routeStatus struct {
	route  string
	status int
}

// NewMetrics registers the edge's series in a registry of their own.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_requests_total",
		Help: "Requests answered, by route pattern and status."}, []string{"route", "status"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sluice_request_duration_seconds",
		Help: "Time from request to answer, by route pattern.", Buckets: latencyBuckets}, []string{"route"})
	m.destination = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sluice_destination_duration_seconds",
		Help: "Time spent waiting on proxy destinations.", Buckets: latencyBuckets})
	m.detokenized = prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_detokenizations_total",
		Help: "Tokens resolved into proxied requests (or reflected)."})
	m.transformCalls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_transform_calls_total",
		Help: "WebAssembly transform calls by result (ok, ended, error)."}, []string{"result"})
	m.transformTime = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sluice_transform_duration_seconds",
		Help: "Duration of WebAssembly transform calls.", Buckets: latencyBuckets})
	m.jwe = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_jwe_decryptions_total",
		Help: "JWE decryptions by algorithm and result."}, []string{"alg", "result"})
	m.vaultOps = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_vault_operations_total",
		Help: "Vault operations by kind."}, []string{"op"})
	m.reg.MustRegister(m.requests, m.duration, m.destination, m.detokenized, m.transformCalls, m.transformTime,
		m.jwe, m.vaultOps, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Resolved once: present (at 0) before the first call, and no label hashing per call.
	m.transformOK = m.transformCalls.WithLabelValues("ok")
	m.transformEnded = m.transformCalls.WithLabelValues("ended")
	m.transformError = m.transformCalls.WithLabelValues("error")
	return m
}

var latencyBuckets = []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Handler serves the series in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Observe records one answered request: its route pattern, status and duration, the time it
// waited on a destination and the tokens it detokenized.
func (m *Metrics) Observe(route string, status int, d, dest time.Duration, tokens int) {
	rs := m.byRoute.get(routeStatus{route, status}, func() routeSeries {
		return routeSeries{m.requests.WithLabelValues(route, strconv.Itoa(status)), m.duration.WithLabelValues(route)}
	})
	rs.requests.Inc()
	rs.duration.Observe(d.Seconds())
	if dest > 0 {
		m.destination.Observe(dest.Seconds())
	}
	if tokens > 0 {
		m.detokenized.Add(float64(tokens))
	}
}

// Decrypted records one JWE decryption; alg is an allow-listed name.
func (m *Metrics) Decrypted(alg string, err error) {
	m.byAlg.get(algResult{alg, err == nil}, func() prometheus.Counter {
		result := "ok"
		if err != nil {
			result = "error"
		}
		return m.jwe.WithLabelValues(alg, result)
	}).Inc()
}

// TransformOutcome is how a WebAssembly transform call ended.
type TransformOutcome int

const (
	TransformOK     TransformOutcome = iota // the exchange goes on
	TransformEnded                          // the guest answered the caller itself
	TransformFailed                         // trap, limit or a refused answer
)

// Transformed records one WebAssembly transform call.
func (m *Metrics) Transformed(d time.Duration, o TransformOutcome) {
	m.transformTime.Observe(d.Seconds())
	switch o {
	case TransformOK:
		m.transformOK.Inc()
	case TransformEnded:
		m.transformEnded.Inc()
	default:
		m.transformError.Inc()
	}
}

// meteredStore counts vault operations by kind.
type meteredStore struct {
	store.Store
	ops map[string]prometheus.Counter
	// The counters of every proxied token, without the map lookup.
	tokenRead, auditWrite prometheus.Counter
}

// MeteredStore is st counting its operations into m.
func MeteredStore(st store.Store, m *Metrics) store.Store {
	ms := &meteredStore{Store: st, ops: map[string]prometheus.Counter{}}
	for _, op := range []string{"token_create", "token_read", "token_update", "token_delete", "application_write",
		"application_read", "document_write", "document_read", "audit_write", "audit_read"} {
		ms.ops[op] = m.vaultOps.WithLabelValues(op)
	}
	ms.tokenRead, ms.auditWrite = ms.ops["token_read"], ms.ops["audit_write"]
	return ms
}

func (m *meteredStore) count(op string, n int) { m.ops[op].Add(float64(n)) }

func (m *meteredStore) CreateToken(ctx context.Context, t *store.Token, dedupe bool, ev store.Event) (*store.Token, bool, error) {
	m.count("token_create", 1)
	return m.Store.CreateToken(ctx, t, dedupe, ev)
}
func (m *meteredStore) GetToken(ctx context.Context, id string) (*store.Token, error) {
	m.count("token_read", 1)
	return m.Store.GetToken(ctx, id)
}
func (m *meteredStore) GetTokens(ctx context.Context, ids []string) (map[string]*store.Token, error) {
	m.count("token_read", len(ids))
	return m.Store.GetTokens(ctx, ids)
}
func (m *meteredStore) ResolveTokens(ctx context.Context, ids []string, r *store.Resolved) error {
	m.tokenRead.Add(float64(len(ids)))
	return m.Store.ResolveTokens(ctx, ids, r)
}
func (m *meteredStore) UpdateToken(ctx context.Context, t *store.Token, ev store.Event) error {
	m.count("token_update", 1)
	return m.Store.UpdateToken(ctx, t, ev)
}
func (m *meteredStore) DeleteToken(ctx context.Context, id string, ev store.Event) error {
	m.count("token_delete", 1)
	return m.Store.DeleteToken(ctx, id, ev)
}
func (m *meteredStore) CreateApplication(ctx context.Context, a *store.Application, ev store.Event) error {
	m.count("application_write", 1)
	return m.Store.CreateApplication(ctx, a, ev)
}
func (m *meteredStore) GetApplication(ctx context.Context, id string) (*store.Application, error) {
	m.count("application_read", 1)
	return m.Store.GetApplication(ctx, id)
}
func (m *meteredStore) ApplicationByKey(ctx context.Context, key string) (*store.Application, error) {
	m.count("application_read", 1)
	return m.Store.ApplicationByKey(ctx, key)
}
func (m *meteredStore) UpdateApplication(ctx context.Context, a *store.Application, ev store.Event) error {
	m.count("application_write", 1)
	return m.Store.UpdateApplication(ctx, a, ev)
}
func (m *meteredStore) DeleteApplication(ctx context.Context, id string, ev store.Event) error {
	m.count("application_write", 1)
	return m.Store.DeleteApplication(ctx, id, ev)
}
func (m *meteredStore) Put(ctx context.Context, c store.Collection, id string, doc []byte, create bool, ev store.Event) error {
	m.count("document_write", 1)
	return m.Store.Put(ctx, c, id, doc, create, ev)
}
func (m *meteredStore) Get(ctx context.Context, c store.Collection, id string) ([]byte, error) {
	m.count("document_read", 1)
	return m.Store.Get(ctx, c, id)
}
func (m *meteredStore) Delete(ctx context.Context, c store.Collection, id string, ev store.Event) error {
	m.count("document_write", 1)
	return m.Store.Delete(ctx, c, id, ev)
}
func (m *meteredStore) Audit(ctx context.Context, evs ...store.Event) error {
	m.auditWrite.Add(float64(len(evs)))
	return m.Store.Audit(ctx, evs...)
}
func (m *meteredStore) Events(ctx context.Context, q store.EventQuery) ([]store.Event, string, error) {
	m.count("audit_read", 1)
	return m.Store.Events(ctx, q)
}
