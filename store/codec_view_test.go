package store

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// FuzzViewTokenAgreesWithDecodeToken: the proxy's partial read of a record (fields stepped over
// by their lengths) must find the same type, data, containers and expiry as the full decoder on
// every record the full decoder accepts, and never panic on the others.
func FuzzViewTokenAgreesWithDecodeToken(f *testing.F) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Second), now.Add(time.Hour)
	long := strings.Repeat("y", 300) // a two-byte length
	for _, tok := range []*Token{
		{ID: "a", Type: "card", Data: []byte(`{}`), Metadata: map[string]string{"a": "b"}, Containers: []string{"/a/"}, CreatedAt: now, ExpiresAt: &future},
		{ID: "b", Type: "token", Data: []byte(`"x"`), CreatedAt: now, ModifiedAt: &now, ExpiresAt: &past},
		{ID: long, Type: long, Data: []byte(`"` + long + `"`), Mask: []byte(long), Fingerprint: long, CreatedBy: long,
			Containers: []string{"/pci/high/", long}, CreatedAt: time.Unix(-1<<40, 999999999)},
		{ID: "s", Type: "token", Data: []byte(`"x"`), ModifiedBy: "m", SearchIndexes: []string{"{{ data }}"}, searchTags: [][]byte{make([]byte, 16)}},
	} {
		f.Add(encodeToken(nil, tok))
	}
	f.Add([]byte{tokenCodecVersionV2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{tokenCodecVersion, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var rt ResolvedToken
		ok := viewToken(&rt, b, now)
		full, err := decodeToken(b)
		if err != nil {
			return
		}
		if !ok {
			t.Fatalf("viewToken refused a record decodeToken accepts: %+v", full)
		}
		found := full.ExpiresAt == nil || full.ExpiresAt.After(now)
		if !bytes.Equal(rt.Type, []byte(full.Type)) || !bytes.Equal(rt.Data, full.Data) || rt.Found != found {
			t.Fatalf("viewToken = type %q data %q found %v; decodeToken = %q %q %v", rt.Type, rt.Data, rt.Found, full.Type, full.Data, found)
		}
		var conts []string
		rt.Containers(func(c []byte) bool { conts = append(conts, string(c)); return true })
		if len(conts) != len(full.Containers) || strings.Join(conts, "\x00") != strings.Join(full.Containers, "\x00") {
			t.Fatalf("containers %q, want %q", conts, full.Containers)
		}
	})
}
