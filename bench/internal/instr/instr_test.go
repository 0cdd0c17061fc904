package instr

import (
	"path/filepath"
	"strings"
	"testing"
)

// results is a run where every budget of Default is met by a small margin.
func results() *Results {
	return &Results{
		Targets: []string{Passthrough, Sluice},
		Scenarios: []Scenario{{Key: Tokens0, Name: "0 tokens"}, {Key: Tokens5, Name: "5 tokens"},
			{Key: Wasm, Name: "wasm"}, {Key: GoGuest, Name: "go guest"}, {Key: Encrypted, Name: "encrypted"}},
		Counts: []Count{
			{Target: Passthrough, Scenario: Tokens0, PerRequest: 30000}, {Target: Sluice, Scenario: Tokens0, PerRequest: 44000, Windows: []float64{44000}, Requests: 10},
			{Target: Passthrough, Scenario: Tokens5, PerRequest: 30000}, {Target: Sluice, Scenario: Tokens5, PerRequest: 83000},
			{Target: Sluice, Scenario: Wasm, PerRequest: 90000},
			{Target: Sluice, Scenario: GoGuest, PerRequest: 112000},
			{Target: Sluice, Scenario: Encrypted, PerRequest: 558000 + 44000 + 39000},
		},
		X25519: 558000,
		Repeat: &Repeat{Scenario: Tokens5, First: 83000, Second: 85000},
	}
}

// TestGateFailsWhenABudgetIsLowered: each budget set just below what was measured fails its
// verdict and only its verdict; at Default every verdict passes.
func TestGateFailsWhenABudgetIsLowered(t *testing.T) {
	r := results()
	if vs := Evaluate(r, Default); Missed(vs) != 0 {
		t.Fatalf("default budgets: %v", vs)
	}
	tests := []struct {
		override string
		verdict  int
	}{
		{"tokens=0=1.45", 0},
		{"tokens=5=2.75", 1},
		{"tokens=5+wasm=6999", 2},
		{"tokens=5+goguest=28999", 3},
		{"encrypted=38999", 4},
		{"repeat=0.02", 5},
	}
	for _, tt := range tests {
		t.Run(tt.override, func(t *testing.T) {
			b := Default
			if err := b.Set(tt.override); err != nil {
				t.Fatal(err)
			}
			vs := Evaluate(r, b)
			if Missed(vs) != 1 || vs[tt.verdict].OK || !strings.Contains(vs[tt.verdict].String(), "MISSED") {
				t.Fatalf("verdicts %v", vs)
			}
		})
	}
}

// TestGateFailsWhenAScenarioIsMissing: a scenario that could not be measured fails its budget
// (a gate that skipped what it could not run would pass on a broken build).
func TestGateFailsWhenAScenarioIsMissing(t *testing.T) {
	for _, key := range []string{Tokens0, Tokens5, Wasm, GoGuest, Encrypted} {
		t.Run(key, func(t *testing.T) {
			r := results()
			var kept []Count
			for _, c := range r.Counts {
				if c.Scenario != key {
					kept = append(kept, c)
				}
			}
			r.Counts = kept
			if vs := Evaluate(r, Default); Missed(vs) == 0 {
				t.Fatalf("passed without %s: %v", key, vs)
			}
		})
	}
	r := results()
	r.X25519, r.Repeat = 0, nil
	if vs := Evaluate(r, Default); Missed(vs) != 2 {
		t.Fatalf("without X25519 and repeat: %v", vs)
	}
}

func TestBudgetSetRejectsNonsense(t *testing.T) {
	for _, s := range []string{"tokens=0", "tokens=0=x", "tokens=0=-1", "nope=3", "tokens=0=0"} {
		b := Default
		if err := b.Set(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestWriteTableAndSaveLoad(t *testing.T) {
	r := results()
	r.Scenarios = append(r.Scenarios, Scenario{Key: "x", Name: "missing one", NA: "no module"})
	var b strings.Builder
	WriteTable(&b, r)
	for _, want := range []string{
		"| 0 tokens | 30.0 k | 44.0 k | 1.47× | 44.0 k–44.0 k (1 × 10 requests) |",
		"| missing one | — | n/a: no module | | |",
		"| X25519 alone",
		"83.0 k and 85.0 k (2.4 % apart)",
	} {
		if !strings.Contains(b.String(), want) {
			t.Fatalf("table lacks %q:\n%s", want, b.String())
		}
	}
	path := filepath.Join(t.TempDir(), "gate.json")
	if err := Save(path, r); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := got.Get(Sluice, Tokens5); !ok || v != 83000 || got.Repeat.Second != 85000 {
		t.Fatalf("loaded %+v", got)
	}
}
