package journal

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzEncodeSharedTimesAgreesWithEventByEvent: encode, which takes an event whose time is the
// previous one's to the bit as that one ended and compares shared strings by their memory, writes
// what handling every event's time on its own and comparing strings by content writes
// (encodeReference): the same events read back, the same record length (short and full events
// alike), the same times left in the caller's events. Times are drawn from a palette where
// equal instants differ in location or monotonic reading, and strings are shared or copies.
func FuzzEncodeSharedTimesAgreesWithEventByEvent(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, uint8(0))
	f.Add([]byte{1, 1, 2, 1, 3, 1, 4, 5, 0, 6, 7, 1}, uint8(1))
	f.Add([]byte{5, 2, 5, 2, 6, 9, 6, 3, 1, 8, 2, 2, 7, 0}, uint8(2))
	f.Fuzz(func(t *testing.T, picks []byte, nowPick uint8) {
		if len(picks) > 64 {
			picks = picks[:64]
		}
		base := time.Date(2026, 12, 5, 14, 0, 0, 123456789, time.UTC)
		mono := time.Now()
		times := []time.Time{{}, base, base.In(time.FixedZone("X", 0)), base.Add(time.Nanosecond),
			base.Add(-time.Hour), mono, mono.Round(0), mono.Add(time.Microsecond)}
		ids := []string{"tok-a", "tok-b", strings.Repeat("i", 300), "bad\xff", ""}
		shared := Event{EntityType: "token", Operation: "detokenize", Actor: "app-1", ProxyID: "px-1"}
		var evs []Event
		for k := 0; k+1 < len(picks); k += 2 {
			p, q := picks[k], picks[k+1]
			ev := shared
			ev.EntityID = ids[int(p>>4)%len(ids)]
			ev.CreatedAt = times[int(p)%len(times)]
			switch q % 5 {
			case 1: // equal strings in other memory
				ev.Actor = strings.Clone(ev.Actor)
				ev.Operation = strings.Clone(ev.Operation)
			case 2:
				ev.Operation = "reveal"
			case 3:
				ev.Reason = "support"
			case 4:
				ev.ProxyID = ""
			}
			evs = append(evs, ev)
		}
		if len(evs) == 0 {
			return
		}
		now := times[int(nowPick)%len(times)]
		j := openJournal(t, t.TempDir(), testSyncEvery)
		defer j.Close()
		last := j.lastNanos

		gotEvs, wantEvs := slices.Clone(evs), slices.Clone(evs)
		b := j.newBatch()
		gerr := j.encode(b, gotEvs, now)
		gotLen := len(b.buf)
		got, _ := j.decode(b.buf[4:], nil)

		j.lastNanos = last
		b = j.newBatch()
		werr := encodeReference(j, b, wantEvs, now)
		wantLen := len(b.buf)
		want, _ := j.decode(b.buf[4:], nil)

		for i := range got {
			got[i].ID = "" // the key's random part differs from run to run
		}
		for i := range want {
			want[i].ID = ""
		}
		if (gerr == nil) != (werr == nil) || gotLen != wantLen || !reflect.DeepEqual(got, want) {
			t.Fatalf("encode: %v, %d bytes, %+v\nreference: %v, %d bytes, %+v", gerr, gotLen, got, werr, wantLen, want)
		}
		for i := range gotEvs {
			if gotEvs[i].CreatedAt != wantEvs[i].CreatedAt {
				t.Fatalf("event %d left with time %v, reference %v", i, gotEvs[i].CreatedAt, wantEvs[i].CreatedAt)
			}
		}
	})
}

// encodeReference is encode with every event's time handled on its own and the events'
// strings compared by content.
func encodeReference(j *Journal, b *batch, evs []Event, now time.Time) error {
	nanos := now.UnixNano()
	if !evs[0].CreatedAt.IsZero() {
		nanos = evs[0].CreatedAt.UnixNano()
	}
	if nanos <= j.lastNanos {
		nanos = j.lastNanos + 1
	}
	keyTime := time.Unix(0, nanos).UTC()
	base := AppendKey(nil, time.Unix(0, nanos))
	var plain, stamp []byte
	var stampOf time.Time
	for i := range evs {
		ev := &evs[i]
		if ev.CreatedAt.IsZero() {
			ev.CreatedAt = now
		}
		if ev.CreatedAt.Before(keyTime) {
			ev.CreatedAt = keyTime
		}
		if stamp == nil || !ev.CreatedAt.Equal(stampOf) {
			stampOf = ev.CreatedAt
			stamp = []byte(ev.CreatedAt.Format(time.RFC3339Nano))
		}
		binary.BigEndian.PutUint16(base[len(base)-2:], uint16(i))
		plain = append(plain, base...)
		e0 := &evs[0]
		if i > 0 && ev.EntityType == e0.EntityType && ev.Operation == e0.Operation && ev.Actor == e0.Actor &&
			ev.ProxyID == e0.ProxyID && ev.Reason == e0.Reason && ev.CreatedAt.Equal(e0.CreatedAt) &&
			len(ev.EntityID) <= 0xffff && utf8.ValidString(ev.EntityID) {
			plain = append(plain, 0, 0)
			plain = binary.BigEndian.AppendUint16(plain, uint16(len(ev.EntityID)))
			plain = append(plain, ev.EntityID...)
			continue
		}
		var id [32]byte
		hex.Encode(id[:], base[len(KeyPrefix):])
		lenAt := len(plain)
		plain = append(plain, 0, 0)
		plain = appendEventJSON(plain, ev, id[:], stamp)
		n := len(plain) - lenAt - 2
		if n > 0xffff {
			return errors.New("journal: audit event too large")
		}
		binary.BigEndian.PutUint16(plain[lenAt:], uint16(n))
	}
	j.lastNanos = nanos
	at := len(b.buf)
	b.buf = append(b.buf, 0, 0, 0, 0)
	b.buf = j.seal.Seal(b.buf, plain, journalAAD)
	binary.BigEndian.PutUint32(b.buf[at:], uint32(len(b.buf)-at-4))
	return nil
}
