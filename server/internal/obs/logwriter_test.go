package obs

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Lines written concurrently to the sharded buffer all come out once and whole; the lines of
// one connection, and the slog lines, keep their order; a line bigger than a shard passes.
func TestBufferedLogKeepsEveryLine(t *testing.T) {
	var out syncBuffer
	b := NewBufferedLog(&out)
	const conns, perConn = 16, 500
	var wg sync.WaitGroup
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perConn; i++ {
				b.writeLine(uint64(c), fmt.Appendf(nil, "conn=%d seq=%d %s\n", c, i, strings.Repeat("x", i%300)))
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < perConn; i++ {
			fmt.Fprintf(b, "conn=slog seq=%d\n", i)
		}
	}()
	big := "conn=big seq=0 " + strings.Repeat("y", 3*shardBytes) + "\n"
	b.writeLine(3, []byte(big))
	wg.Wait()
	b.Close()

	next := map[string]int{}
	for _, line := range bytes.Split(bytes.TrimSuffix([]byte(out.String()), []byte("\n")), []byte("\n")) {
		var conn string
		var seq int
		if _, err := fmt.Sscanf(string(line), "conn=%s seq=%d", &conn, &seq); err != nil {
			t.Fatalf("mangled line %.80q", line)
		}
		if seq != next[conn] {
			t.Fatalf("conn %s: line %d after %d", conn, seq, next[conn]-1)
		}
		next[conn]++
	}
	for c := 0; c < conns; c++ {
		if n := next[fmt.Sprint(c)]; n != perConn {
			t.Fatalf("conn %d: %d lines, want %d", c, n, perConn)
		}
	}
	if next["slog"] != perConn || next["big"] != 1 {
		t.Fatalf("slog %d lines, big %d", next["slog"], next["big"])
	}
}

// BenchmarkBufferedLogLines: request lines from every CPU at once, as at c=32.
func BenchmarkBufferedLogLines(b *testing.B) {
	bl := NewBufferedLog(io.Discard)
	defer bl.Close()
	line := []byte(`{"time":"2026-11-24T12:00:00.000000000Z","level":"INFO","msg":"request","request_id":"0123456789abcdef01234567","method":"POST","route":"/proxy","status":200,"duration_ms":0.21}` + "\n")
	var conns atomic.Uint64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		conn := conns.Add(1)
		for pb.Next() {
			bl.writeLine(conn, line)
		}
	})
}
