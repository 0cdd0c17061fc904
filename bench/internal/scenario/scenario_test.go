package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-edge/sluice/bench/internal/fixture"
	"github.com/sluice-edge/sluice/bench/internal/inproc"
)

// TestSetupThroughSluice provisions every scenario in an in-process Sluice and checks what the
// destination receives through it, and that the passthrough baseline gets the same bytes
// untouched (so Check really tells detokenized from raw requests).
func TestSetupThroughSluice(t *testing.T) {
	d := inproc.StartDest()
	defer d.Close()
	sl, err := inproc.StartSluice(t.TempDir(), d.Dial)
	if err != nil {
		t.Fatal(err)
	}
	defer sl.Close()
	pt := inproc.StartPassthrough(d.Dial)
	defer pt.Close()

	wasm, _ := os.ReadFile(filepath.Join("..", "..", "..", "transforms", "testdata", "tiny.wasm"))
	c := NewClient("sluice.bench", inproc.AdminKey, sl.Dial)
	ss, err := Setup(c, inproc.DestURL, Modules{Tiny: wasm})
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 5 || ss[0].Key != Tokens0 || ss[1].Key != Tokens5 || ss[2].Key != Wasm || ss[3].Key != GoGuest || ss[4].Key != Encrypted {
		t.Fatalf("scenarios %v", ss)
	}
	base := NewClient("passthrough.bench", "", pt.Dial)
	for _, s := range ss {
		t.Run(s.Key, func(t *testing.T) {
			if s.NA != "" {
				if (s.Key != Wasm && s.Key != GoGuest) || s.Requests != nil {
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
			if err := s.Check(raw); (s.Key == Tokens0) != (err == nil) {
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
	ss, err := Setup(NewClient("sluice.bench", inproc.AdminKey, sl.Dial), inproc.DestURL, Modules{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{Wasm, GoGuest} {
		if w := ByKey(ss, k); w == nil || w.NA == "" || w.Requests != nil {
			t.Fatalf("wasm scenario without a module: %+v", w)
		}
	}
}

func TestSetupWithWrongAdminKeyFails(t *testing.T) {
	d := inproc.StartDest()
	defer d.Close()
	sl, err := inproc.StartSluice(t.TempDir(), d.Dial)
	if err != nil {
		t.Fatal(err)
	}
	defer sl.Close()
	_, err = Setup(NewClient("sluice.bench", "wrong", sl.Dial), inproc.DestURL, Modules{})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 401 || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("err %v", err)
	}
}

// TestCheckNamesNoSecret: a failed check says what is missing without quoting the echo, which
// holds card numbers.
func TestCheckNamesNoSecret(t *testing.T) {
	s := Scenario{Key: Tokens5, want: []expect{{[]byte(`"4242424242424242"`), "card number 1 as a JSON string"}}}
	tests := []struct {
		name string
		echo string
		ok   bool
	}{
		{"present", `{"f0":"4242424242424242"}`, true},
		{"missing", `{"f0":"5555555555554444"}`, false},
		{"unresolved", `{"f0":"4242424242424242","f1":"{{ x }}"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Check([]byte(tt.echo))
			if (err == nil) != tt.ok {
				t.Fatalf("err %v", err)
			}
			if err != nil && (!errors.Is(err, ErrCheck) || strings.Contains(err.Error(), "5555") || strings.Contains(err.Error(), "4242")) {
				t.Fatalf("err %v", err)
			}
		})
	}
}
