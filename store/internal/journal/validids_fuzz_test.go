package journal

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzEncodeValidIDsAgreesWithChecked: encode told that the entity ids are valid UTF-8
// (AppendValid) writes the record encode writes when it checks them itself — the same events read
// back, the same length (short and full events alike) — for every valid id: empty, ASCII,
// multi-byte, longer than a short event can hold.
func FuzzEncodeValidIDsAgreesWithChecked(f *testing.F) {
	f.Add("tok-a", "tok-b", uint32(0), uint8(3))
	f.Add("é", "日本語のトークン", uint32(0), uint8(5))
	f.Add("", "a\x00b", uint32(0x10000), uint8(2))
	f.Add("x", "\u2028\"\\", uint32(9), uint8(4))
	f.Fuzz(func(t *testing.T, a, b string, long uint32, n uint8) {
		ids := []string{a, b, strings.Repeat("i", int(long)%(0x10000+2))}
		for _, id := range ids {
			if !utf8.ValidString(id) {
				return // AppendValid's precondition
			}
		}
		var evs []Event
		at := time.Date(2026, 12, 5, 16, 0, 0, 42, time.UTC)
		for i := range int(n%8) + 1 {
			evs = append(evs, Event{EntityType: "token", EntityID: ids[i%len(ids)], Operation: "detokenize",
				Actor: "app-1", ProxyID: "px-1", CreatedAt: at})
		}
		j := openJournal(t, t.TempDir(), testSyncEvery)
		defer j.Close()
		last := j.lastNanos

		read := func(valid bool) ([]Event, int, error) {
			j.lastNanos = last
			j.validIDs = valid
			defer func() { j.validIDs = false }()
			bt := j.newBatch()
			err := j.encode(bt, slices.Clone(evs), time.Time{})
			if err != nil {
				return nil, 0, err
			}
			got, _ := j.decode(bt.buf[4:], nil)
			for i := range got {
				got[i].ID = "" // the key's random part differs from run to run
			}
			return got, len(bt.buf), err
		}
		got, gotLen, gerr := read(true)
		want, wantLen, werr := read(false)
		if (gerr == nil) != (werr == nil) || gotLen != wantLen || !reflect.DeepEqual(got, want) {
			t.Fatalf("valid ids: %v, %d bytes, %+v\nchecked: %v, %d bytes, %+v", gerr, gotLen, got, werr, wantLen, want)
		}
	})
}
