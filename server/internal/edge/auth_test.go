package edge

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/sluice-edge/sluice/store"
)

// failingApps answers every application read with err.
type failingApps struct{ err error }

func (f failingApps) ApplicationByKey(context.Context, string) (*store.Application, error) {
	return nil, f.err
}
func (f failingApps) GetApplication(context.Context, string) (*store.Application, error) {
	return nil, f.err
}

// TestProxyApplicationVaultFaultIsNotForbidden: the application behind a pre-configured proxy
// that is gone is a 403; a vault that cannot say is its own error, which reaches the status map
// as itself (never a 403).
func TestProxyApplicationVaultFaultIsNotForbidden(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		forbidden bool
	}{
		{"gone", store.ErrNotFound, true},
		{"unavailable", store.ErrUnavailable, false},
		{"disk low", store.ErrDiskLow, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAuthenticator(failingApps{tc.err}, "", RateLimits{})
			_, err := a.ApplicationPrincipal(context.Background(), "app-1")
			var p *Problem
			if got := errors.As(err, &p) && p.Status == http.StatusForbidden; got != tc.forbidden {
				t.Fatalf("err %v: forbidden %v, want %v", err, got, tc.forbidden)
			}
			if !tc.forbidden && !errors.Is(err, tc.err) {
				t.Fatalf("err %v does not carry its cause %v", err, tc.err)
			}
		})
	}
}
