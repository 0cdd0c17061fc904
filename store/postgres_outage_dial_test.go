package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
)

// TestOutageDialsNothingButTheProbe: during an outage no connection attempt reaches the
// database but the health check's. The change feed tries to listen again every changePoll:
// each attempt dialled (PostgreSQL forks a backend per accepted connection) before being
// refused, a storm of dials from every node on a database that is down or overloaded.
func TestOutageDialsNothingButTheProbe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	dials := 0
	var d net.Dialer
	o := newOutage()
	dial := o.dialer(func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials++
		return d.DialContext(ctx, network, addr)
	})
	o.begin(fmt.Errorf("%w: database: no answer", ErrUnavailable))

	for range 3 {
		if c, err := dial(context.Background(), "tcp", ln.Addr().String()); !errors.Is(err, ErrUnavailable) {
			if c != nil {
				c.Close()
			}
			t.Fatalf("a dial during an outage: %v", err)
		}
	}
	if dials != 0 {
		t.Fatalf("%d connection attempts reached the database during an outage", dials)
	}
	c, err := dial(context.WithValue(context.Background(), probe{}, true), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("the probe's dial during an outage: %v", err)
	}
	c.Close()
	if dials != 1 {
		t.Fatalf("%d connection attempts for the probe's one", dials)
	}
	if n := len(o.conns); n != 0 {
		t.Fatalf("%d closed sockets still listed", n)
	}
}
