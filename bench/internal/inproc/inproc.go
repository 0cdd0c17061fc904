// Package inproc runs Sluice, the passthrough baseline and the benchmark destination inside the
// calling process, each on a fasthttputil.InmemoryListener, for benchmarks that measure the proxy
// without the kernel's loopback.
package inproc

import (
	"context"
	"crypto/rand"
	"io"
	"net"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/sluice-edge/sluice/bench/internal/dest"
	"github.com/sluice-edge/sluice/bench/internal/passthrough"
	"github.com/sluice-edge/sluice/server"
)

// AdminKey is the bootstrap API key of every in-process Sluice. It is a benchmark constant,
// not a secret.
const AdminKey = "bench-admin-key"

// Service is something serving on an in-memory listener.
type Service struct {
	// Dial connects to it; the address is ignored.
	Dial  fasthttp.DialFunc
	close func() error
}

// Close stops the service and waits for it.
func (s *Service) Close() error { return s.close() }

func serve(s *fasthttp.Server) *Service {
	ln := fasthttputil.NewInmemoryListener()
	done := make(chan struct{})
	go func() { s.Serve(ln); close(done) }()
	return &Service{
		Dial:  func(string) (net.Conn, error) { return ln.Dial() },
		close: func() error { err := s.Shutdown(); <-done; return err },
	}
}

// StartDest serves the benchmark destination (package dest).
func StartDest() *Service { return serve(dest.Server()) }

// StartPassthrough serves the passthrough proxy in front of a destination reached with destDial.
func StartPassthrough(destDial fasthttp.DialFunc) *Service {
	return serve(passthrough.New("dest.bench:80", destDial).Server())
}

// DestURL is the destination base URL Sluice's proxies use in process: DestinationDial ignores
// the address, so any name that passes the (relaxed) destination policy will do.
const DestURL = "http://dest.bench"

// StartSluice opens a vault in dataDir (a fresh directory) and serves Sluice with AdminKey,
// private and http destinations allowed, and every destination connection dialed with destDial.
// Its log is formatted as in production and discarded.
func StartSluice(dataDir string, destDial fasthttp.DialFunc) (*Service, error) {
	cfg := server.Defaults()
	cfg.DataDir = dataDir
	cfg.MasterKey = make([]byte, 32)
	rand.Read(cfg.MasterKey)
	cfg.AdminKey = AdminKey
	cfg.AllowPrivateDestinations, cfg.AllowHTTPDestinations = true, true
	cfg.DestinationDial = destDial
	cfg.LogOutput = io.Discard
	s, err := server.New(cfg)
	if err != nil {
		return nil, err
	}
	pub, adm := fasthttputil.NewInmemoryListener(), fasthttputil.NewInmemoryListener()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, pub, adm) }()
	return &Service{
		Dial: func(string) (net.Conn, error) { return pub.Dial() },
		close: func() error {
			cancel()
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
			}
			if cerr := s.Close(); err == nil {
				err = cerr
			}
			return err
		},
	}, nil
}
