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

// TestRatioDenominatorPoolsThePassthroughsJSONWindows: the passthrough forwards the same 1 KB
// JSON request in every JSON scenario, so its windows there are one sample: each ratio divides
// by their median together, not by one scenario's — a scenario whose own windows ran low must
// not fail Sluice on noise, one whose windows ran high must not pass it. BT-ENCRYPTED (another
// request) keeps its own.
func TestRatioDenominatorPoolsThePassthroughsJSONWindows(t *testing.T) {
	r := results()
	for i, c := range r.Counts {
		switch {
		case c.Target == Passthrough && c.Scenario == Tokens0:
			r.Counts[i].Windows = []float64{31000, 31000, 31000}
		case c.Target == Passthrough && c.Scenario == Tokens5:
			r.Counts[i].PerRequest, r.Counts[i].Windows = 27000, []float64{27000, 30000, 30000}
		}
	}
	r.Counts = append(r.Counts, Count{Target: Passthrough, Scenario: Encrypted, PerRequest: 33000, Windows: []float64{33000}})
	if p, ok := r.PassthroughJSON(); !ok || p != 30500 {
		t.Fatalf("pooled passthrough %v %v, want the median of 31,31,31,27,30,30 k = 30.5 k", p, ok)
	}
	vs := Evaluate(r, Default)
	if !strings.Contains(vs[1].Measured, "83.0 k ÷ 30.5 k") || !vs[1].OK {
		t.Fatalf("5 tokens divided by its own scenario's median: %v", vs[1])
	}
	if d, _ := r.denominator(Encrypted); d != 33000 {
		t.Fatalf("BT-ENCRYPTED's denominator %v", d)
	}
	var b strings.Builder
	WriteTable(&b, r)
	if !strings.Contains(b.String(), "| 5 tokens | 27.0 k | 83.0 k | 2.72× |") || !strings.Contains(b.String(), "median 30.5 k") {
		t.Fatalf("table:\n%s", b.String())
	}
}
