package bench

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"testing"
	"time"

	"github.com/sluice-edge/sluice/bench/internal/fixture"
	"github.com/sluice-edge/sluice/store"
)

// Read modes of the vault benchmarks.
const (
	fromCache = "cache" // the store's sealed-record cache is warm: no Badger read, envelope opened
	fromVault = "vault" // the cache is off: a Badger read transaction per call
)

// openVault opens a file-backed vault in a temporary directory with the five fixture cards
// stored as card_number tokens, and returns it with their ids. mode picks the token cache.
func openVault(tb testing.TB, mode string) (store.Store, []string) {
	tb.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	opt := store.Options{Dir: tb.TempDir(), MasterKey: key}
	if mode == fromVault {
		opt.TokenCacheSize = -1
	}
	st, err := store.Open(opt)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	ids := make([]string, len(fixture.PANs))
	for i, pan := range fixture.PANs {
		data, _ := json.Marshal(pan)
		t := &store.Token{ID: newID(i), Type: "card_number", Data: data, Containers: []string{"/pci/high/"},
			Fingerprint: st.Fingerprint("card_number", data), CreatedAt: time.Now().UTC()}
		if _, _, err := st.CreateToken(context.Background(), t, false,
			store.Event{EntityType: "token", EntityID: t.ID, Operation: "create", Actor: "bench"}); err != nil {
			tb.Fatal(err)
		}
		ids[i] = t.ID
	}
	// One read fills the cache (when there is one), as the first proxied request would.
	if m, err := st.GetTokens(context.Background(), ids); err != nil || len(m) != len(ids) {
		tb.Fatalf("GetTokens: %d tokens, %v", len(m), err)
	}
	return st, ids
}

// newID returns a UUID-shaped id, as the API would make, distinct per i.
func newID(i int) string {
	var b [16]byte
	rand.Read(b[:])
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for j, x := range b {
		if j == 4 || j == 6 || j == 8 || j == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[x>>4], hex[x&15])
	}
	out[0] = hex[i%16]
	return string(out)
}

// BenchmarkVaultGetTokens is the vault read of a request with five tokens: one GetTokens call.
func BenchmarkVaultGetTokens(b *testing.B) {
	for _, mode := range []string{fromCache, fromVault} {
		b.Run(mode, func(b *testing.B) {
			st, ids := openVault(b, mode)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				m, err := st.GetTokens(ctx, ids)
				if err != nil || len(m) != len(ids) {
					b.Fatal(len(m), err)
				}
			}
		})
	}
}

// BenchmarkVaultAudit is the audit write of a request with five tokens: one Audit call with five
// events, which commits a Badger transaction and syncs it to disk before the request may go on.
func BenchmarkVaultAudit(b *testing.B) {
	st, ids := openVault(b, fromCache)
	ctx := context.Background()
	evs := make([]store.Event, len(ids))
	b.ReportAllocs()
	for b.Loop() {
		for i, id := range ids {
			evs[i] = store.Event{EntityType: "token", EntityID: id, Operation: "detokenize", Actor: "bench"}
		}
		if err := st.Audit(ctx, evs...); err != nil {
			b.Fatal(err)
		}
	}
}
