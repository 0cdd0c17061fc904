package harness

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestPGLoadRefusesBadFlags: every flag error exits 2 before anything is built or started.
func TestPGLoadRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-nope"}, {"-duration", "0s"}, {"-c", "0"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := PGLoadMain(args, &stdout, &stderr, nil); code != 2 || stdout.Len() != 0 || stderr.Len() == 0 {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
			}
		})
	}
}

// TestPGLoadGoalsAreJudgedFromTheSamples: the CPU ratio is the PostgreSQL node's CPU per request over
// the Badger node's (then with PostgreSQL's CPU added), and creates are judged per node count.
func TestPGLoadGoalsAreJudgedFromTheSamples(t *testing.T) {
	ss := []PGSample{
		{Workload: WorkloadProxy5, Nodes: "Badger", Requests: 1000, NodeCPU: 100 * time.Millisecond},
		{Workload: WorkloadProxy5, Nodes: "PostgreSQL", Requests: 1000, NodeCPU: 110 * time.Millisecond, PGCPU: 50 * time.Millisecond},
		{Workload: WorkloadCreate, Nodes: "PostgreSQL", RPS: 1500},
		{Workload: WorkloadCreate, Nodes: "PostgreSQL ×2", RPS: 2500},
	}
	var b strings.Builder
	writePGGoals(&b, ss)
	for _, want := range []string{"1.10× (met); with PostgreSQL's own CPU: 1.60× (NOT met)", "PostgreSQL: 1500/s (NOT met)", "PostgreSQL ×2: 2500/s (met)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %q in:\n%s", want, b.String())
		}
	}
}
