//go:build unix

package server

import (
	"errors"
	"net"
	"syscall"
)

// peerClosed reports whether the peer of an idle connection has closed it or sent something
// unasked (which, on an idle HTTP/1.1 connection, is a goodbye too), by peeking at the socket
// without blocking. Connections that are not sockets are never reported closed. The peek runs
// under Control, not Read: Read never runs its function once the connection's read deadline
// has passed, which it has on a connection idle for longer than the last exchange's timeout.
func peerClosed(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	closed := false
	rc.Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		closed = n > 0 || err == nil || !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EINTR)
	})
	return closed
}
