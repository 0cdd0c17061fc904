// Command passthrough is the baseline of Sluice's end-to-end benchmark: a plain fasthttp reverse
// proxy (same fasthttp version as Sluice) that forwards every request to one upstream over
// keep-alive connections.
//
//	passthrough -listen 127.0.0.1:8081 -upstream 127.0.0.1:9000 [-lifetime 30m]
//
// It stops on SIGTERM/SIGINT, or by itself after -lifetime so that a forgotten one never lingers.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sluice-edge/sluice/bench/internal/passthrough"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8081", "address to listen on")
	upstream := flag.String("upstream", "", "upstream host:port (required)")
	lifetime := flag.Duration("lifetime", 30*time.Minute, "exit after this long (0 = never)")
	flag.Parse()
	if err := run(*listen, *upstream, *lifetime); err != nil {
		fmt.Fprintln(os.Stderr, "passthrough:", err)
		os.Exit(1)
	}
}

func run(listen, upstream string, lifetime time.Duration) error {
	if upstream == "" {
		return fmt.Errorf("-upstream is required")
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if lifetime > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, lifetime)
		defer cancel()
	}
	srv := passthrough.New(upstream, nil).Server()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.ShutdownWithContext(sctx)
}
