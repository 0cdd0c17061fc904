package server

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestMetricsAfterProxyingAndNoSecrets: the series of SPEC §8 appear after proxied requests, and
// neither /metrics nor the log of the whole run holds plaintext, token ids or API keys.
func TestMetricsAfterProxyingAndNoSecrets(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	id := e.token(e.adminKey, cardBody(pan))
	app, _ := e.newApp("private", "proxy:invoke", "token:create")
	for i := 0; i < 3; i++ {
		e.do("POST", "/proxy/p", app, `{"n":"{{ `+id+` | json: '$.number' }}"}`, "BT-PROXY-URL", dest.url).expect(t, 200)
	}
	e.do("POST", "/proxy", app, `{"n":"{{ missing-token }}"}`, "BT-PROXY-URL", dest.url).expect(t, 400)
	e.do("POST", "/tokens", app, map[string]any{"type": "token", "encrypted": "a.b.c.d.e"}).expect(t, 400)
	res, err := http.Get(e.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	text := string(b)
	for _, want := range []string{
		`sluice_requests_total{route="/proxy",status="200"} 3`,
		`sluice_requests_total{route="/proxy",status="400"} 1`,
		`sluice_request_duration_seconds_bucket{route="/proxy"`,
		`sluice_destination_duration_seconds_count 3`,
		`sluice_detokenizations_total 3`,
		`sluice_jwe_decryptions_total{alg="other",result="error"} 1`,
		`sluice_vault_operations_total{op="token_read"}`,
		`sluice_transform_calls_total`, `sluice_transform_duration_seconds`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, secret := range []string{pan, id, app, e.adminKey, "missing-token"} {
		if strings.Contains(text, secret) {
			t.Fatalf("/metrics contains a secret or token id (%d bytes)", len(secret))
		}
	}
	assertNoSecrets(t, e.logText(), pan, app, e.adminKey)
	// /metrics is not on the public listener.
	e.do("GET", "/metrics", e.adminKey, nil).expectProblem(t, 404, false)
}
