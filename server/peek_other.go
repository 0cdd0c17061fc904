//go:build !unix

package server

import "net"

// peerClosed cannot tell here: a closed connection shows as a failed exchange instead.
func peerClosed(net.Conn) bool { return false }
