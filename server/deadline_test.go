package server

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// recordingConn records the deadlines that reach the connection.
type recordingConn struct {
	net.Conn
	reads, writes []time.Time
}

func (c *recordingConn) SetReadDeadline(t time.Time) error { c.reads = append(c.reads, t); return nil }
func (c *recordingConn) SetWriteDeadline(t time.Time) error {
	c.writes = append(c.writes, t)
	return nil
}

func TestCoarseDeadlinesNeverFireLate(t *testing.T) {
	rec := &recordingConn{}
	c := &coarseConn{Conn: rec}
	base := time.Now().Add(time.Minute)
	steps := []struct {
		at     time.Time
		passes bool
	}{
		{base, true},                             // first
		{base.Add(10 * time.Millisecond), false}, // a little later: the earlier one stands
		{base.Add(90 * time.Millisecond), false},
		{base.Add(150 * time.Millisecond), true}, // more than the slack later
		{base, true},                             // earlier: at once
		{time.Time{}, true},                      // cleared: at once
		{time.Time{}, false},                     // cleared again: already so
		{base, true},                             // set after a clear
	}
	for i, s := range steps {
		before := len(rec.reads)
		if err := c.SetReadDeadline(s.at); err != nil {
			t.Fatal(err)
		}
		if passed := len(rec.reads) > before; passed != s.passes {
			t.Fatalf("step %d: reached the connection = %v, want %v", i, passed, s.passes)
		}
	}
	// Whatever was skipped, the deadline in effect is never later than the one asked for, and
	// at most the slack earlier.
	if err := c.SetWriteDeadline(base); err != nil {
		t.Fatal(err)
	}
	for d := time.Duration(0); d < time.Second; d += 7 * time.Millisecond {
		want := base.Add(d)
		if err := c.SetWriteDeadline(want); err != nil {
			t.Fatal(err)
		}
		got := rec.writes[len(rec.writes)-1]
		if got.After(want) || want.Sub(got) >= deadlineSlack {
			t.Fatalf("asked %v, in effect %v", want.Sub(base), got.Sub(base))
		}
	}
	if n := len(rec.writes); n > 12 {
		t.Fatalf("%d of 144 forward moves reached the connection", n)
	}
}

func TestCoarseDeadlineSkipAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	c := &coarseConn{Conn: &recordingConn{}}
	d := time.Now().Add(time.Minute)
	_ = c.SetReadDeadline(d)
	if n := testing.AllocsPerRun(1000, func() { _ = c.SetReadDeadline(d) }); n != 0 {
		t.Fatalf("%.1f allocs per skipped deadline", n)
	}
}

// The caller-side timeouts still cut a stalled connection through coarse deadlines: one that
// stops mid-header (read timeout) and an idle keep-alive one (idle timeout).
func TestStalledCallersAreCut(t *testing.T) {
	e := startEdge(t, func(c *Config) { c.Timeouts.Read, c.Timeouts.Idle = 300*time.Millisecond, 300*time.Millisecond })
	host := strings.TrimPrefix(e.base, "http://")
	for _, tt := range []struct{ name, send string }{
		{"mid-header", "GET /health HTTP/1.1\r\nHost: x\r\n"},
		{"idle after a request", "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write([]byte(tt.send)); err != nil {
				t.Fatal(err)
			}
			// Bounded so a regression fails instead of hanging; the edge's own bound is
			// 300 ms (at most deadlineSlack earlier).
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.Copy(io.Discard, c); err != nil {
				t.Fatalf("the edge did not close the stalled connection: %v", err)
			}
		})
	}
}
