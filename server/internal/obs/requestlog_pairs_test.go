package obs

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// FuzzAppendLogTimeMatchesRFC3339Nano: the fraction written two digits a step is what
// time.RFC3339Nano writes, for every nanosecond count, second and zone.
func FuzzAppendLogTimeMatchesRFC3339Nano(f *testing.F) {
	f.Add(int64(1796450399), uint32(0), int16(0))
	f.Add(int64(1796450399), uint32(123456789), int16(330))
	f.Add(int64(0), uint32(999999999), int16(-480))
	f.Add(int64(1796450400), uint32(100000000), int16(60))
	f.Add(int64(1796450400), uint32(1), int16(0))
	f.Fuzz(func(t *testing.T, sec int64, ns uint32, zoneMin int16) {
		sec %= 1 << 35 // years 0000 to 9999 and around: what RFC 3339 can write
		tm := time.Unix(sec, int64(ns%1e9)).In(time.FixedZone("z", int(zoneMin%(24*60))*60))
		if got, want := appendLogTime(nil, tm), tm.AppendFormat(nil, time.RFC3339Nano); !bytes.Equal(got, want) {
			t.Fatalf("%v: %s, want %s", tm, got, want)
		}
	})
}

// FuzzNewRequestIDIsCounterInHex: the counter written a byte a step is its low six bytes in
// lower-case hex, after the prefix, whatever the counter's value.
func FuzzNewRequestIDIsCounterInHex(f *testing.F) {
	for _, n := range []uint64{0, 0xfe, 0xff, 0x100, 0xffffffffffff, 0x123456789abcdef0, ^uint64(0)} {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, n uint64) {
		old := requestIDSeq.Load()
		defer requestIDSeq.Store(old)
		requestIDSeq.Store(n - 1)
		var id [24]byte
		NewRequestID(&id)
		if want := string(requestIDPrefix[:]) + fmt.Sprintf("%012x", n&0xffffffffffff); string(id[:]) != want {
			t.Fatalf("counter %#x: %q, want %q", n, id[:], want)
		}
	})
}
