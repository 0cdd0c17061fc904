package obs

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"
)

// TestRequestLineMatchesSlog: the hand-encoded request line is byte for byte what slog's
// JSONHandler writes for the same attributes (time aside), for ordinary and hostile values.
func TestRequestLineMatchesSlog(t *testing.T) {
	lines := []RequestLine{
		{RequestID: []byte("0123456789abcdef01234567"), Method: "POST", Route: "/proxy", Status: 200,
			Duration: 1234567 * time.Nanosecond, Application: "6a1b2c3d-0000-4000-8000-000000000000",
			Destination: 456 * time.Microsecond, ProxyID: "p1", Tokens: 5},
		{RequestID: []byte(`a"b\c`), Method: "GET", Route: "unmatched", Status: 404},
		{RequestID: []byte("x"), Method: "M\x00\n\r\t\x1f\x7f<>&\u2028\u2029é\xff", Route: "/tokens/{id}", Status: 500,
			Duration: 90 * time.Second, Transforms: time.Millisecond, Tokens: 1000},
		{RequestID: []byte("y"), Method: "PUT", Route: "/proxy", Status: 201, Duration: 999 * time.Nanosecond},
	}
	for _, l := range lines {
		var want bytes.Buffer
		slog.New(slog.NewJSONHandler(&want, nil)).LogAttrs(context.Background(), slog.LevelInfo, "request", l.attrs()...)
		got := appendRequestLine(nil, time.Now(), &l)
		if string(stripTime(t, got)) != string(stripTime(t, want.Bytes())) {
			t.Errorf("hand-encoded:\n%s\nslog:\n%s", got, want.Bytes())
		}
		if !json.Valid(got) {
			t.Errorf("not JSON: %s", got)
		}
	}
}

// stripTime removes the leading "time" member, whose value differs between the two.
func stripTime(t *testing.T, line []byte) []byte {
	t.Helper()
	const p = `{"time":"`
	if !bytes.HasPrefix(line, []byte(p)) {
		t.Fatalf("no time first: %s", line)
	}
	i := bytes.IndexByte(line[len(p):], '"')
	return line[len(p)+i+1:]
}

func TestRequestLineAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	l := RequestLine{RequestID: []byte("0123456789abcdef01234567"), Method: "POST", Route: "/proxy", Status: 200}
	buf := make([]byte, 0, 512)
	if n := testing.AllocsPerRun(100, func() { buf = appendRequestLine(buf[:0], time.Now(), &l) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

func TestNewRequestIDsAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		var b [24]byte
		NewRequestID(&b)
		if seen[string(b[:])] {
			t.Fatal("duplicate request id")
		}
		seen[string(b[:])] = true
	}
}
