package obs

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"strconv"
	"testing"
	"time"
)

// TestAppendMillisMatchesFloat: the integer encoding of a duration writes what the float one
// (and slog) wrote, for every shape of value: whole, trailing zeros, sub-microsecond,
// negative, hours.
func TestAppendMillisMatchesFloat(t *testing.T) {
	ds := []time.Duration{0, 999, time.Microsecond, 10 * time.Microsecond, 100 * time.Microsecond,
		120 * time.Microsecond, 1234567, time.Millisecond, 1500 * time.Microsecond, 90 * time.Second,
		-1500 * time.Microsecond, -time.Microsecond, 25 * time.Hour, 123456789012345}
	for i := range 3000 {
		ds = append(ds, time.Duration(i)*time.Microsecond+time.Duration(i%7), time.Duration(i*i*i)*977)
	}
	for _, d := range ds {
		want := strconv.AppendFloat(nil, millis(d), 'f', -1, 64)
		if got := appendMillis(nil, d); !bytes.Equal(got, want) {
			t.Fatalf("%d ns: %s, want %s", int64(d), got, want)
		}
	}
}

// TestAppendLogTimeMatchesRFC3339Nano: the cached second writes what time.RFC3339Nano does, in
// UTC and other zones, across second boundaries and with every count of trailing zeros.
func TestAppendLogTimeMatchesRFC3339Nano(t *testing.T) {
	base := time.Date(2026, 12, 5, 6, 59, 59, 0, time.UTC)
	zones := []*time.Location{time.UTC, time.FixedZone("x", 5*3600+30*60), time.FixedZone("y", -8*3600), time.Local}
	for _, loc := range zones {
		for _, ns := range []int{0, 1, 10, 100, 999999999, 500000000, 123456789, 120000000, 1000000000, 1000000001, 60e9 + 7} {
			tm := base.Add(time.Duration(ns)).In(loc)
			want := tm.AppendFormat(nil, time.RFC3339Nano)
			if got := appendLogTime(nil, tm); !bytes.Equal(got, want) {
				t.Fatalf("%v: %s, want %s", tm, got, want)
			}
		}
	}
	now := time.Now() // monotonic reading and Local, as the server's lines have
	if got, want := appendLogTime(nil, now), now.AppendFormat(nil, time.RFC3339Nano); !bytes.Equal(got, want) {
		t.Fatalf("%s, want %s", got, want)
	}
}

// FuzzRequestLineMatchesSlog: whatever a caller puts in the values that reach the line (its
// X-Request-Id, the method), the hand-encoded line is what slog writes — no JSON breakout
// through the fast path for plain strings.
func FuzzRequestLineMatchesSlog(f *testing.F) {
	f.Add("0123456789abcdef01234567", "POST", int64(1234567))
	f.Add(`a"b\c`, "M\x00\n<>&\u2028é\xff", int64(-1))
	f.Add("\x7f", "", int64(math.MaxInt64))
	f.Fuzz(func(t *testing.T, id, method string, d int64) {
		l := RequestLine{RequestID: []byte(id), Method: method, Route: "/proxy", Status: 200,
			Duration: time.Duration(d % int64(1000*time.Hour)), ProxyID: id, Application: method}
		var want bytes.Buffer
		slog.New(slog.NewJSONHandler(&want, nil)).LogAttrs(context.Background(), slog.LevelInfo, "request", l.attrs()...)
		got := appendRequestLine(nil, time.Now(), &l)
		if string(stripTime(t, got)) != string(stripTime(t, want.Bytes())) {
			t.Fatalf("hand-encoded:\n%s\nslog:\n%s", got, want.Bytes())
		}
	})
}
