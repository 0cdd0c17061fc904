package server

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// waitCloseSeen waits until the peer of c — a connection the test closed — has received the
// close: its socket left ESTABLISHED (Linux's /proc/net/tcp; elsewhere it returns at once).
// close returns before a loaded machine's loopback delivers the FIN, and a test of what the
// peer does with a closed connection must not run ahead of it.
func waitCloseSeen(c net.Conn) {
	local, remote := c.LocalAddr().(*net.TCPAddr), c.RemoteAddr().(*net.TCPAddr)
	// The peer's socket: its local address is our remote one. Ports are hex, state 01 is ESTABLISHED.
	peer := fmt.Sprintf(":%04X", remote.Port)
	us := fmt.Sprintf(":%04X", local.Port)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		established, readable := false, false
		for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
			f, err := os.Open(name)
			if err != nil {
				continue
			}
			readable = true
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				fs := strings.Fields(sc.Text())
				if len(fs) > 3 && strings.HasSuffix(fs[1], peer) && strings.HasSuffix(fs[2], us) && fs[3] == "01" {
					established = true
				}
			}
			f.Close()
		}
		if !readable || !established {
			return
		}
	}
}
