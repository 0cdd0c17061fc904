package harness

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-edge/sluice/bench/internal/instr"
)

// TestGateRefusesBadFlags: every flag error exits 2 before anything is built or started.
func TestGateRefusesBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"-nope"}, "flag provided but not defined"},
		{"tiny window", []string{"-window", "5"}, "-window"},
		{"no windows", []string{"-windows", "0"}, "-window"},
		{"unknown budget", []string{"-budget", "tokens=7=1"}, "no budget"},
		{"budget without value", []string{"-budget", "tokens=0"}, "positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := GateMain(tt.args, &stdout, &stderr, nil); code != 2 {
				t.Fatalf("exit %d", code)
			}
			if !strings.Contains(stderr.String(), tt.want) || stdout.Len() != 0 {
				t.Fatalf("stderr %q stdout %q", stderr.String(), stdout.String())
			}
		})
	}
}

// TestGateFailsWhenABudgetIsLoweredBelowTheMeasurement: judged again (-from), a run that meets
// every budget exits 0, and 1 once one budget is set below what it measured; the table is
// printed both times.
func TestGateFailsWhenABudgetIsLoweredBelowTheMeasurement(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gate.json")
	r := &instr.Results{
		Targets: []string{instr.Passthrough, instr.Sluice},
		Scenarios: []instr.Scenario{{Key: instr.Tokens0, Name: "0 tokens"}, {Key: instr.Tokens5, Name: "5 tokens"},
			{Key: instr.Wasm, Name: "wasm"}, {Key: instr.GoGuest, Name: "go guest"}, {Key: instr.Encrypted, Name: "encrypted"}},
		Counts: []instr.Count{
			{Target: instr.Passthrough, Scenario: instr.Tokens0, PerRequest: 30000}, {Target: instr.Sluice, Scenario: instr.Tokens0, PerRequest: 42000},
			{Target: instr.Passthrough, Scenario: instr.Tokens5, PerRequest: 30000}, {Target: instr.Sluice, Scenario: instr.Tokens5, PerRequest: 80000},
			{Target: instr.Sluice, Scenario: instr.Wasm, PerRequest: 86000}, {Target: instr.Sluice, Scenario: instr.GoGuest, PerRequest: 105000},
			{Target: instr.Sluice, Scenario: instr.Encrypted, PerRequest: 558000 + 42000 + 30000},
		},
		X25519: 558000,
		Repeat: &instr.Repeat{Scenario: instr.Tokens5, First: 80000, Second: 80800},
	}
	if err := instr.Save(path, r); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		code int
	}{
		{nil, 0},
		{[]string{"-budget", "tokens=0=1.39"}, 1},
	} {
		var stdout, stderr bytes.Buffer
		if code := GateMain(append([]string{"-from", path}, tt.args...), &stdout, &stderr, nil); code != tt.code {
			t.Fatalf("%v: exit %d: %s", tt.args, code, stderr.String())
		}
		if !strings.Contains(stdout.String(), "| 0 tokens | 30.0 k | 42.0 k | 1.40× |") {
			t.Fatalf("no table:\n%s", stdout.String())
		}
	}
}
