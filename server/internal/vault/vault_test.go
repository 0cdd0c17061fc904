package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/store"
)

func memVault(t *testing.T) *Vault {
	t.Helper()
	st, err := store.Open(store.Options{InMemory: true, MasterKey: bytes.Repeat([]byte{1}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return New(st, time.Now)
}

func ptr[T any](v T) *T { return &v }

// TestCreateRefusesWhateverTheCaller: every rule of token creation holds on the one path all
// callers take (the API, tokenize transforms, guests), and each refusal is one a caller can
// tell apart with errors.Is and that carries its status.
func TestCreateRefusesWhateverTheCaller(t *testing.T) {
	v := memVault(t)
	creator := edge.NewPrincipal("app", edge.PermTokenCreate, []string{"/general/"}, nil)
	for _, tc := range []struct {
		name   string
		who    *edge.Principal
		req    Request
		want   error
		status int
	}{
		{"no token:create", edge.NewPrincipal("app", edge.PermTokenRead, nil, nil), Request{Data: json.RawMessage(`"x"`)}, ErrMayNotCreate, http.StatusForbidden},
		{"unknown type", creator, Request{Type: ptr("teleport"), Data: json.RawMessage(`"x"`)}, ErrUnknownType, http.StatusBadRequest},
		{"type's containers outside the caller's", creator, Request{Type: ptr(TypeCard), Data: json.RawMessage(`{}`)}, ErrCreateOutsideContainers, http.StatusForbidden},
		{"named containers outside the caller's", creator, Request{Containers: []string{"/pci/"}, Data: json.RawMessage(`"x"`)}, ErrCreateOutsideContainers, http.StatusForbidden},
		{"data not of its type", creator, Request{Type: ptr(TypeCardNumber), Containers: []string{"/general/"}, Data: json.RawMessage(`"4242"`)}, ErrInvalidData, http.StatusBadRequest},
		{"expiry in the past", creator, Request{ExpiresAt: ptr("2001-01-01T00:00:00Z"), Data: json.RawMessage(`"x"`)}, nil, http.StatusBadRequest},
		{"metadata too big", creator, Request{Metadata: map[string]string{"": "x"}, Data: json.RawMessage(`"x"`)}, nil, http.StatusBadRequest},
		{"encrypted where no key is", creator, Request{Encrypted: ptr("a.b.c.d.e")}, nil, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := v.Create(context.Background(), tc.who, &tc.req, nil)
			if err == nil {
				t.Fatal("created")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			var p *edge.Problem
			if !errors.As(err, &p) || p.Status != tc.status {
				t.Fatalf("err %v: want a %d problem", err, tc.status)
			}
		})
	}
}

// TestDeduplicateOnlyForReaders: a caller that may not read tokens never learns of a duplicate.
func TestDeduplicateOnlyForReaders(t *testing.T) {
	v := memVault(t)
	ctx := context.Background()
	req := func() *Request { return &Request{Data: json.RawMessage(`"same"`), DeduplicateToken: ptr(true)} }
	reader := edge.NewPrincipal("r", edge.PermTokenCreate|edge.PermTokenRead, nil, nil)
	writer := edge.NewPrincipal("w", edge.PermTokenCreate, nil, nil)
	first, _, err := v.Create(ctx, reader, req(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if again, existed, err := v.Create(ctx, reader, req(), nil); err != nil || !existed || again.ID != first.ID {
		t.Fatalf("reader: existed %v id %v err %v", existed, again, err)
	}
	if other, existed, err := v.Create(ctx, writer, req(), nil); err != nil || existed || other.ID == first.ID {
		t.Fatalf("writer: existed %v err %v", existed, err)
	}
}
