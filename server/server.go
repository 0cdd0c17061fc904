// Package server is the shell of the edge: it builds the rooms under server/internal once (New),
// serves the public and admin listeners (Run, Serve), routes each request (handle, dispatch) and
// is the one place that turns errors into status codes (status.go). The API is
// server/internal/api, the proxy pipeline server/internal/proxy.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/jwe"
	"github.com/sluice-edge/sluice/server/internal/api"
	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/server/internal/egress"
	"github.com/sluice-edge/sluice/server/internal/obs"
	"github.com/sluice-edge/sluice/server/internal/proxy"
	"github.com/sluice-edge/sluice/server/internal/vault"
	"github.com/sluice-edge/sluice/store"
	"github.com/sluice-edge/sluice/transforms"
)

// Version is set at build time with -ldflags "-X github.com/sluice-edge/sluice/server.Version=…".
var Version = "dev"

// Server holds what every request needs. Build it with New; it is safe for concurrent use.
type Server struct {
	cfg   Config
	store store.Store
	raw   store.Store // the same vault without the metering: for the online backup
	log   *slog.Logger
	ready atomic.Bool
	now   func() time.Time

	proxy     *proxy.Pipeline  // /proxy and /vault_proxy
	policy    egress.Policy    // destination URL rules
	client    *fasthttp.Client // to destinations, dialing through egress.Dialer
	destConns connSet          // the client's open connections
	api       *api.API
	metrics   *obs.Metrics
	wasm      *transforms.Engine   // WebAssembly transforms
	guestHTTP *proxy.LateGuestHTTP // the guests' sluice.http_request, set by initProxying

	logBuf    *obs.BufferedLog    // the default log's buffer, flushed on Close
	auth      *edge.Authenticator // API keys → principals, rate limits
	vault     *vault.Vault        // the token service
	keys      *api.Keys           // private keys, cached after first use
	decrypter *jwe.Decrypter      // BT-ENCRYPTED and "encrypted", over keys

	stale      *staleSet          // cached records other nodes changed, to read again
	background context.Context    // of work that belongs to no request; ends at Close
	stop       context.CancelFunc // ends background
	workers    sync.WaitGroup     // background goroutines, waited for before the vault closes
	// backups is read-held by each online backup; Close takes it once (after cancelling them)
	// so that the vault closes only once none reads it.
	backups sync.RWMutex
}

// New opens the vault and prepares the handlers. The caller must Close the Server.
func New(cfg Config) (s *Server, err error) {
	var logBuf *obs.BufferedLog
	if cfg.Logger == nil {
		out := cfg.LogOutput
		if out == nil {
			out = os.Stderr
		}
		logBuf = obs.NewBufferedLog(out)
		cfg.Logger = slog.New(slog.NewJSONHandler(logBuf, &slog.HandlerOptions{Level: cfg.slogLevel()}))
	}
	background, stop := context.WithCancel(context.Background())
	s = &Server{cfg: cfg, log: cfg.Logger, now: time.Now, logBuf: logBuf, background: background, stop: stop}
	defer func() {
		if err != nil {
			stop()
			if logBuf != nil {
				logBuf.Close()
			}
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	st, err := openStore(&cfg)
	if err != nil {
		return nil, err
	}
	if cfg.AdminKey == "" && cfg.Dev {
		// Made (or read) only once the vault opened: a wrong master key leaves no key file behind.
		if s.cfg.AdminKey, err = devAdminKey(&cfg); err != nil {
			st.Close()
			return nil, err
		}
	}
	if err := s.attach(st); err != nil {
		st.Close()
		return nil, err
	}
	if feed, ok := st.(store.ChangeFeed); ok {
		s.follow(feed)
	}
	s.ready.Store(true)
	return s, nil
}

// openStoreTimeout bounds connecting to and migrating a PostgreSQL vault at start.
const openStoreTimeout = time.Minute

// openStore opens the vault: in PostgreSQL when a database URL is configured, otherwise Badger
// in the data directory.
func openStore(cfg *Config) (store.Store, error) {
	if cfg.Database.URL != "" {
		ctx, cancel := context.WithTimeout(context.Background(), openStoreTimeout)
		defer cancel()
		st, err := store.OpenPostgres(ctx, cfg.Database.URL, cfg.postgresOptions())
		if errors.Is(err, store.ErrWrongKey) {
			return nil, errors.New("the master key does not open the vault in the database (wrong key?); nothing was changed")
		}
		return st, err
	}
	st, err := store.Open(cfg.storeOptions())
	if errors.Is(err, store.ErrWrongKey) {
		return nil, fmt.Errorf("the master key does not open the data directory %s (wrong key?); nothing was changed", cfg.DataDir)
	}
	return st, err
}

// attach makes st the Server's vault and prepares everything that depends on it.
func (s *Server) attach(st store.Store) error {
	if s.metrics == nil {
		s.metrics = obs.NewMetrics()
	}
	s.raw = st
	s.store = obs.MeteredStore(st, s.metrics)
	s.auth = edge.NewAuthenticator(s.store, s.cfg.AdminKey, s.cfg.RateLimits)
	s.vault = vault.New(s.store, s.now)
	if err := s.initTransforms(); err != nil {
		return err
	}
	return s.initProxying()
}

// initTransforms starts the WebAssembly engine and compiles the stored modules.
func (s *Server) initTransforms() error {
	cacheDir := s.cfg.Transforms.CacheDir
	if cacheDir == "" && s.cfg.DataDir != "" {
		cacheDir = filepath.Join(s.cfg.DataDir, "wasm-cache")
	}
	s.guestHTTP = &proxy.LateGuestHTTP{Metrics: obs.NewGuestHTTP(s.metrics)}
	eng, err := api.StartTransforms(s.ctx(), s.store, s.log, transforms.Config{
		MemoryLimitPages: uint32(s.cfg.Transforms.MemoryBytes >> 16),
		CallTimeout:      s.cfg.Transforms.CallTimeout,
		PoolSize:         s.cfg.Transforms.PoolSize,
		MaxBodyBytes:     int(min(s.cfg.Limits.ProxyBodyBytes, math.MaxInt32)),
		MaxTokens:        s.cfg.Transforms.MaxTokensPerCall,
		CompileTimeout:   s.cfg.Transforms.CompileTimeout,
		CacheDir:         cacheDir,
		HTTPDoer:         s.guestHTTP,
	})
	s.wasm = eng
	return err
}

// initProxying prepares the destination policy, the egress client, the proxy pipeline and the
// API that configures it.
func (s *Server) initProxying() error {
	s.policy = egress.Policy{AllowPrivate: s.cfg.AllowPrivateDestinations, AllowHTTP: s.cfg.AllowHTTPDestinations}
	tlsConf, err := egress.TLSConfig(s.cfg.DestinationCAFile)
	if err != nil {
		return err
	}
	d := &egress.Dialer{Policy: s.policy, Timeout: s.cfg.Timeouts.Destination}
	s.client = &fasthttp.Client{
		DialTimeout:                   coarseDialTimeout(&s.destConns, d.DialTimeout),
		TLSConfig:                     tlsConf,
		NoDefaultUserAgentHeader:      true,
		DisablePathNormalizing:        true,
		DisableHeaderNamesNormalizing: false,
		StreamResponseBody:            true,
		MaxIdleConnDuration:           60 * time.Second,
		MaxConnsPerHost:               4096,
		ReadBufferSize:                s.cfg.Limits.HeaderBytes,
		MaxIdemponentCallAttempts:     2, // one retry, when retryDestination allows it
		RetryIfErr:                    retryDestination,
	}
	if s.cfg.DestinationDial != nil {
		s.client.DialTimeout, s.client.Dial = nil, coarseDial(&s.destConns, s.cfg.DestinationDial)
	}
	s.guestHTTP.Set(&proxy.GuestHTTP{Policy: s.policy, Client: s.client, Timeout: s.cfg.Timeouts.Destination,
		Metrics: s.guestHTTP.Metrics})
	s.keys = api.NewKeys(s.store, s.now)
	s.decrypter = jwe.NewDecrypter(s.keys.Lookup, 256) // BT-ENCRYPTED and "encrypted": keys parsed once
	s.proxy, err = proxy.New(proxy.Deps{Store: s.store, Vault: s.vault, Auth: s.auth, Metrics: s.metrics, Log: s.log,
		LogBuf: s.logBuf, Now: s.now, Policy: s.policy, Client: s.client, Decrypter: s.decrypter, Wasm: s.wasm},
		proxy.Options{ProxyTokens: s.cfg.Limits.ProxyTokens, EphemeralTokens: s.cfg.Limits.EphemeralTokens,
			ReflectTokens: s.cfg.Limits.ReflectTokens, ExpressionsPerBody: s.cfg.Limits.ExpressionsPerBody,
			ProxyBodyBytes: s.cfg.Limits.ProxyBodyBytes, DestinationTimeout: s.cfg.Timeouts.Destination,
			DestinationBodyIdle: s.cfg.Timeouts.DestinationBodyIdle, Ephemeral: s.cfg.ephemeralProxy()})
	if err != nil {
		return err
	}
	s.api = api.New(api.Deps{Store: s.store, Vault: s.vault, Auth: s.auth, Proxy: s.proxy, Policy: s.policy, Keys: s.keys,
		Decrypter: s.decrypter, Wasm: s.wasm, Metrics: s.metrics, Log: s.log, Now: s.now},
		api.Options{APIBodyBytes: s.cfg.Limits.APIBodyBytes, ModuleBytes: s.cfg.Limits.ModuleBytes})
	return nil
}

// logRequest writes a request's canonical line to the edge's log.
func (s *Server) logRequest(ctx context.Context, l *obs.RequestLine) {
	obs.LogRequest(ctx, s.log, s.logBuf, l)
}

// ctx is the context of work that belongs to no request (start-up, background).
func (s *Server) ctx() context.Context { return context.Background() }

// Close closes the vault.
func (s *Server) Close() error {
	s.ready.Store(false)
	s.stop()
	s.workers.Wait()
	s.backups.Lock() // waits for the backups under way; later ones find background ended
	defer s.backups.Unlock()
	if s.logBuf != nil {
		defer s.logBuf.Close()
	}
	if s.wasm != nil {
		s.wasm.Close(context.Background())
	}
	return s.store.Close()
}

// Run serves the public and admin listeners until ctx is done, then stops accepting, lets
// in-flight requests finish (bounded by Timeouts.Shutdown) and closes the vault.
func Run(ctx context.Context, cfg Config) error {
	s, err := New(cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	pub, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	adm, err := net.Listen("tcp", cfg.AdminListen)
	if err != nil {
		pub.Close()
		return err
	}
	return s.Serve(ctx, pub, adm)
}

// Serve is Run on listeners the caller opened (tests use port 0).
func (s *Server) Serve(ctx context.Context, public, admin net.Listener) error {
	nofile := raiseOpenFileLimit()
	maxConns := connectionCap(s.cfg.Limits.MaxConnections, nofile)
	pub := newEdgeListener(public, s.log, maxConns, s.cfg.Limits.MaxConnectionsPerIP)
	fs := s.httpServer()
	as := &http.Server{Handler: s.adminHandler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 2)
	go func() { errc <- fs.Serve(pub) }()
	go func() {
		if err := as.Serve(admin); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	s.log.Info("sluice listening", "listen", public.Addr().String(), "admin", admin.Addr().String(), "version", Version,
		"max_connections", maxConns, "open_file_limit", nofile)
	select {
	case <-ctx.Done():
	case err := <-errc:
		as.Close()
		fs.Shutdown()
		return err
	}
	s.ready.Store(false)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeouts.Shutdown)
	defer cancel()
	err := fs.ShutdownWithContext(sctx)
	as.Shutdown(sctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		s.log.Info("sluice stopped")
		return err
	}
	// The drain ran out of time: cut what is left. Requests waiting on a destination fail at
	// once too, so that no handler still uses the vault when it closes.
	cut := pub.conns.cut()
	s.destConns.cut()
	left := waitConns(&pub.conns, shutdownGrace)
	s.log.Warn("sluice stopped: the shutdown timeout cut requests still in flight", "cut_requests", cut,
		"shutdown_timeout", s.cfg.Timeouts.Shutdown.String(), "unfinished", left)
	return nil
}

// shutdownGrace bounds the wait for handlers whose connections a shutdown cut: their reads and
// writes fail at once, so they return in moments (a transform runs to its own time limit).
const shutdownGrace = 5 * time.Second

// waitConns waits up to d until set is empty and returns how many connections remain.
func waitConns(set *connSet, d time.Duration) int {
	deadline := time.Now().Add(d)
	for {
		n := set.len()
		if n == 0 || time.Now().After(deadline) {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fdReserve is how many descriptors the automatic connection cap leaves for all but the public
// listener's connections: the vault's files, the log, the admin listener.
const fdReserve = 256

// connectionCap is the public listener's cap on open connections: the configured one, or half of
// what the open-file limit leaves after fdReserve (a proxied request may hold a destination
// connection besides the caller's), at least 32. An unknown limit gives fasthttp's own default.
func connectionCap(configured int, nofile uint64) int {
	switch {
	case configured > 0:
		return configured
	case nofile == 0 || nofile > 1<<30:
		return fasthttp.DefaultConcurrency
	}
	return max(int(nofile-min(nofile, fdReserve))/2, 32)
}

func (s *Server) httpServer() *fasthttp.Server {
	return &fasthttp.Server{
		Handler:                      s.handle,
		ErrorHandler:                 s.handleParseError,
		Name:                         "sluice",
		NoDefaultServerHeader:        true,
		NoDefaultDate:                false,
		ReadBufferSize:               s.cfg.Limits.HeaderBytes,
		MaxRequestBodySize:           int(s.cfg.Limits.APIBodyBytes),
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		ReadTimeout:                  s.cfg.Timeouts.Read,
		IdleTimeout:                  s.cfg.Timeouts.Idle,
		CloseOnShutdown:              true,
		Logger:                       quietLogger{s.log},
	}
}

// handleParseError answers requests fasthttp could not parse. It must not echo the request.
func (s *Server) handleParseError(rc *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		edge.WriteProblem(rc, edge.ErrTooLarge, false)
	case errors.As(err, &small):
		edge.WriteProblem(rc, edge.NewProblem(http.StatusRequestHeaderFieldsTooLarge, "request headers are too large"), false)
	default:
		edge.WriteProblem(rc, edge.NewProblem(http.StatusBadRequest, "malformed HTTP request"), false)
	}
	rc.SetConnectionClose()
}

// quietLogger keeps fasthttp's own messages (which can quote raw request bytes, API keys
// included) out of the log: only a fixed line is written.
type quietLogger struct{ l *slog.Logger }

func (q quietLogger) Printf(string, ...any) { q.l.Debug("fasthttp: connection error") }

func (s *Server) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if reason := s.notReady(); reason != "" {
			http.Error(w, "not ready: "+reason, http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", s.metrics.Handler())
	mux.HandleFunc("POST /backup", s.serveBackup)
	return mux
}
