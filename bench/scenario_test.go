package bench

import (
	"errors"
	"strings"
	"testing"

	"github.com/sluice-edge/sluice/bench/internal/fixture"
	"github.com/sluice-edge/sluice/bench/internal/inproc"
	"github.com/sluice-edge/sluice/bench/internal/scenario"
)

// TestSetupThroughSluice: scenario.Setup provisions every scenario in the in-process Sluice the
// benchmarks share; this checks what the destination receives through it, and that the
// passthrough baseline gets the same bytes untouched (so Check really tells detokenized from raw
// requests).
func TestSetupThroughSluice(t *testing.T) {
	e := proxies(t)
	ss := e.scenarios
	if len(ss) != 5 || ss[0].Key != scenario.Tokens0 || ss[1].Key != scenario.Tokens5 || ss[2].Key != scenario.Wasm || ss[3].Key != scenario.GoGuest || ss[4].Key != scenario.Encrypted {
		t.Fatalf("scenarios %v", ss)
	}
	c := scenario.NewClient("sluice.bench", inproc.AdminKey, e.sluice.Dial)
	base := scenario.NewClient("passthrough.bench", "", e.passthrough.Dial)
	for _, s := range ss {
		t.Run(s.Key, func(t *testing.T) {
			if s.NA != "" {
				if (s.Key != scenario.Wasm && s.Key != scenario.GoGuest) || s.Requests != nil {
					t.Fatalf("only the wasm scenarios may be n/a: %s", s.NA)
				}
				t.Skipf("n/a: %s", s.NA)
			}
			for _, r := range s.Requests {
				if len(r.Body) != fixture.BodySize {
					t.Fatalf("body of %d bytes", len(r.Body))
				}
			}
			status, echo, err := c.Send(s.Echo())
			if err != nil || status != 200 {
				t.Fatalf("status %d, %v: %s", status, err, echo)
			}
			if err := s.Check(echo); err != nil {
				t.Fatal(err)
			}
			status, raw, err := base.Send(s.Echo())
			if err != nil || status != 200 {
				t.Fatalf("passthrough: status %d, %v", status, err)
			}
			if err := s.Check(raw); (s.Key == scenario.Tokens0) != (err == nil) {
				t.Fatalf("Check of the raw request: %v", err)
			}
			if !strings.Contains(string(raw), string(s.Requests[0].Body)) {
				t.Fatal("the passthrough changed the body")
			}
			// The load path answers 200 with the destination's body.
			if status, _, err := c.Send(s.Requests[len(s.Requests)-1]); err != nil || status != 200 {
				t.Fatalf("charge: status %d, %v", status, err)
			}
		})
	}
}

func TestSetupWithoutWasmIsNA(t *testing.T) {
	d := inproc.StartDest()
	defer d.Close()
	sl, err := inproc.StartSluice(t.TempDir(), d.Dial)
	if err != nil {
		t.Fatal(err)
	}
	defer sl.Close()
	ss, err := scenario.Setup(scenario.NewClient("sluice.bench", inproc.AdminKey, sl.Dial), inproc.DestURL, scenario.Modules{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{scenario.Wasm, scenario.GoGuest} {
		if w := scenario.ByKey(ss, k); w == nil || w.NA == "" || w.Requests != nil {
			t.Fatalf("wasm scenario without a module: %+v", w)
		}
	}
}

func TestSetupWithWrongAdminKeyFails(t *testing.T) {
	e := proxies(t)
	_, err := scenario.Setup(scenario.NewClient("sluice.bench", "wrong", e.sluice.Dial), inproc.DestURL, scenario.Modules{})
	var ae *scenario.APIError
	if !errors.As(err, &ae) || ae.Status != 401 || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("err %v", err)
	}
}
