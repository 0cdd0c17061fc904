package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/server/internal/proxy"
	"github.com/sluice-edge/sluice/store"
)

// TestDiskLowAnswers503RetryAfter: a vault that refuses a write or an audit record for want of
// disk space is a 503 with Retry-After — RFC 7807 on the API, proxy_error on proxy routes — and
// the detail names neither the path nor the sizes; any other audit failure stays a 500.
func TestDiskLowAnswers503RetryAfter(t *testing.T) {
	t.Parallel()
	auditFailed := func(err error) error { return fmt.Errorf("%w: %w", proxy.ErrAuditFailed, err) }
	low := fmt.Errorf("%w (12.0 MiB free on the file system of /secret/path, reserve 256.0 MiB)", store.ErrDiskLow)
	for _, tc := range []struct {
		name  string
		err   error
		wrap  bool
		want  int
		retry string
	}{
		{"api write", low, false, 503, "10"},
		{"proxy audit", auditFailed(low), true, 503, "10"},
		{"api audit", auditFailed(low), false, 503, "10"},
		{"other audit failure", auditFailed(errors.New("store: audit journal: input/output error")), true, 500, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rc fasthttp.RequestCtx
			edge.WriteProblem(&rc, toProblem(tc.err), tc.wrap)
			body := rc.Response.Body()
			if rc.Response.StatusCode() != tc.want || string(rc.Response.Header.Peek("Retry-After")) != tc.retry {
				t.Fatalf("%d Retry-After %q: %s", rc.Response.StatusCode(), rc.Response.Header.Peek("Retry-After"), body)
			}
			var p edge.Problem
			if tc.wrap {
				var w struct {
					ProxyError *edge.Problem `json:"proxy_error"`
				}
				if json.Unmarshal(body, &w) != nil || w.ProxyError == nil {
					t.Fatalf("not a proxy_error: %s", body)
				}
				p = *w.ProxyError
			} else if json.Unmarshal(body, &p) != nil {
				t.Fatalf("not a problem: %s", body)
			}
			if p.Status != tc.want {
				t.Fatalf("problem status %d", p.Status)
			}
			if contains(body, "/secret/path") || contains(body, "MiB") {
				t.Fatalf("the detail leaks the path or sizes: %s", body)
			}
		})
	}
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }
