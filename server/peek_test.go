//go:build unix

package server

import (
	"net"
	"testing"
	"time"
)

// TestPeerClosedSeenPastTheReadDeadline: a pooled destination connection idle for longer than
// its last exchange's read deadline, then closed by the destination, is still seen closed — so
// a POST is retried on a new connection instead of written into the dead one (a 502).
func TestPeerClosedSeenPastTheReadDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	peer := <-accepted
	if err := c.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if peerClosed(c) {
		t.Fatal("an open connection reported closed")
	}
	peer.Close()
	waitCloseSeen(peer)
	if !peerClosed(c) {
		t.Fatal("a connection its peer closed, past its read deadline, reported open")
	}
}
