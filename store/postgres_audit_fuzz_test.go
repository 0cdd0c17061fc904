package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// FuzzPostgresAuditRoundTrip: events of fuzzed text and time (in microseconds, as PostgreSQL
// keeps it) written by Audit's own binary encoding read back through Events exactly as given,
// or — text PostgreSQL's text type refuses (a NUL byte, invalid UTF-8),
// more than maxField bytes, a time outside timestamptz's years — are refused with
// ErrInvalidInput before they join a group commit, leaving nothing stored and the commits of
// the callers after them working.
func FuzzPostgresAuditRoundTrip(f *testing.F) {
	for _, s := range []string{"", "token", "héllo wörld", "𝄞 \u00a0\u200b\ufeff", "\ufffd", "\U0010ffff", "\u07ff\u0800\uffff\U00010000",
		"nul\x00inside", "\x00", "\xff", "\x80", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "abc\xc3", "'\"\\,{}()NULL",
		strings.Repeat("é", maxField/2), strings.Repeat("a", maxField+1)} {
		f.Add("token", s, "detokenize", "", s, int64(0))
	}
	for _, at := range []time.Time{time.Date(1999, 12, 31, 23, 59, 59, 999999, time.UTC), time.Date(2000, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC), time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC), time.Unix(-1, 0), time.UnixMicro(1<<63 - 1), time.UnixMicro(-1 << 63)} {
		f.Add("token", "t", "detokenize", "px", "r", at.UnixMicro())
	}
	ctx := context.Background()
	st, _ := openTestPG(f)
	var seq atomic.Int64
	f.Fuzz(func(t *testing.T, entityType, entityID, operation, proxyID, reason string, micros int64) {
		actor := fmt.Sprint("fuzz-", seq.Add(1)) // finds this call's events
		ev := Event{EntityType: entityType, EntityID: entityID, Operation: operation, Actor: actor, ProxyID: proxyID, Reason: reason}
		if micros != 0 { // else now
			ev.CreatedAt = time.UnixMicro(micros).UTC()
		}
		keepable := storable(entityType) && storable(entityID) && storable(operation) && storable(proxyID) && storable(reason) &&
			(ev.CreatedAt.IsZero() || ev.CreatedAt.Year() >= 1 && ev.CreatedAt.Year() <= 294275)
		err := st.Audit(ctx, ev)
		got, _, qerr := st.Events(ctx, EventQuery{Actor: actor})
		if qerr != nil {
			t.Fatal(qerr)
		}
		if !keepable {
			if !errors.Is(err, ErrInvalidInput) || len(got) != 0 {
				t.Fatalf("unkeepable event: Audit %v, %d stored", err, len(got))
			}
		} else {
			if err != nil || len(got) != 1 {
				t.Fatalf("Audit %v, %d stored", err, len(got))
			}
			g := got[0]
			if g.EntityType != entityType || g.EntityID != entityID || g.Operation != operation || g.Actor != actor || g.ProxyID != proxyID || g.Reason != reason {
				t.Fatalf("read back %+v, wrote %+v", g, ev)
			}
			if !ev.CreatedAt.IsZero() && !g.CreatedAt.Equal(ev.CreatedAt) {
				t.Fatalf("time read back %v, wrote %v", g.CreatedAt, ev.CreatedAt)
			}
			if len(g.ID) != 32 {
				t.Fatalf("event id %q", g.ID)
			}
		}
		if err := st.Audit(ctx, Event{EntityType: "token", EntityID: "after", Operation: "detokenize", Actor: actor + "-after"}); err != nil {
			t.Fatalf("the commit after: %v", err)
		}
	})
}
