package instr

import (
	"strings"
	"testing"
)

// TestPostgresNodeIsReportedNotBudgeted: a PostgreSQL node's counts get their own table with
// the ratio to the Badger node, and change no verdict, however large they are.
func TestPostgresNodeIsReportedNotBudgeted(t *testing.T) {
	r := &Results{
		Targets:   []string{Passthrough, Sluice},
		Scenarios: []Scenario{{Key: Tokens0, Name: "0 tokens"}, {Key: Tokens5, Name: "5 tokens"}},
		Counts: []Count{
			{Target: Passthrough, Scenario: Tokens0, PerRequest: 30000}, {Target: Sluice, Scenario: Tokens0, PerRequest: 40000},
			{Target: Passthrough, Scenario: Tokens5, PerRequest: 30000}, {Target: Sluice, Scenario: Tokens5, PerRequest: 80000},
		},
	}
	var without strings.Builder
	WritePostgresTable(&without, r)
	if without.Len() != 0 {
		t.Fatalf("a table without a PostgreSQL node: %q", without.String())
	}
	before := Evaluate(r, Default)

	r.Targets = append(r.Targets, SluicePG)
	r.Counts = append(r.Counts, Count{Target: SluicePG, Scenario: Tokens5, PerRequest: 1e9, Windows: []float64{1e9, 1e9}, Requests: 500})
	var with strings.Builder
	WritePostgresTable(&with, r)
	if !strings.Contains(with.String(), "| 5 tokens | 80.0 k | 1000000.0 k | 12500.00× |") || strings.Contains(with.String(), "0 tokens |") {
		t.Fatalf("table:\n%s", with.String())
	}
	after := Evaluate(r, Default)
	for i := range before {
		if before[i] != after[i] {
			t.Fatalf("the PostgreSQL node changed a verdict: %v → %v", before[i], after[i])
		}
	}
}
