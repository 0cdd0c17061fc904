package obs

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestRequestLinesEncodedIntoShardsArriveWhole: request lines encoded straight into their
// shard's buffer come out exactly as appendRequestLine writes them, each line whole and in its
// connection's order — many short lines (shards filling and flushing), lines longer than the room
// a shard keeps and than a shard itself.
func TestRequestLinesEncodedIntoShardsArriveWhole(t *testing.T) {
	out := &syncBuffer{}
	bl := NewBufferedLog(out)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	at := time.Date(2026, 12, 5, 17, 0, 0, 123456789, time.UTC)
	var want []string
	for i := range 600 {
		id := strings.Repeat("r", 1+i%100)
		switch i {
		case 100:
			id = strings.Repeat(`"`, 3000) // escaped: 6000 bytes, beyond lineRoom
		case 200:
			id = strings.Repeat("\x01", 4000) // 24000 bytes, beyond a shard
		}
		l := RequestLine{RequestID: []byte(id), Start: at, Method: "POST", Route: "/proxy", Status: 200,
			Duration: time.Duration(i) * time.Microsecond, Conn: uint64(i % 3)}
		LogRequest(context.Background(), log, bl, &l)
		want = append(want, string(appendRequestLine(nil, at.Add(l.Duration), &l)))
	}
	bl.Close()
	got := out.String()
	lines := strings.SplitAfter(got, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d", len(lines), len(want))
	}
	seen := map[string]int{}
	for _, l := range lines {
		seen[l]++
	}
	for _, w := range want {
		if seen[w] == 0 {
			t.Fatalf("line missing or cut: %.80q…", w)
		}
		seen[w]--
	}
}

// TestLogRequestAlloc: a request line encoded into the log's own buffer allocates nothing.
func TestLogRequestAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	bl := NewBufferedLog(io.Discard)
	defer bl.Close()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	l := RequestLine{RequestID: []byte("0123456789abcdef01234567"), Start: time.Now(), Method: "POST", Route: "/proxy", Status: 200}
	if n := testing.AllocsPerRun(1000, func() { LogRequest(context.Background(), log, bl, &l) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}
