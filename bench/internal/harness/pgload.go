package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/sluice-edge/sluice/bench/internal/fixture"
	"github.com/sluice-edge/sluice/bench/internal/loadgen"
	"github.com/sluice-edge/sluice/bench/internal/scenario"
)

// PGOptions configure RunPG (bench/cmd/pgload).
type PGOptions struct {
	Repo        string        // module root
	Go          string        // go command
	DatabaseURL string        // an empty database, or "auto": a throwaway cluster
	Throwaway   Throwaway     // starts the cluster DatabaseURL "auto" asks for
	Duration    time.Duration // measured time per run
	Warmup      time.Duration // unmeasured time before each run, on the same connections
	Settle      time.Duration // at most this long waiting for the nodes to go idle around a run
	Concurrency int           // connections per node
	Rate        float64       // offered requests per second per node; 0: as fast as answered
	KeepDir     bool
	Log         io.Writer
}

// PGSample is one measured run: one workload through one or more nodes at once.
type PGSample struct {
	Workload    string
	Nodes       string // "Badger", "PostgreSQL", "PostgreSQL ×2"
	Concurrency int    // connections per node
	Requests    int64  // successful, every node
	Errors      int64
	FirstError  string
	Elapsed     time.Duration
	RPS         float64 // every node together
	P50, P99    time.Duration
	NodeCPU     time.Duration // the Sluice processes
	PGCPU       time.Duration // PostgreSQL's processes; 0 when the server is not ours
}

// PerRequest is d over the run's successful requests, in µs.
func (s PGSample) PerRequest(d time.Duration) float64 {
	if s.Requests == 0 {
		return 0
	}
	return float64(d.Microseconds()) / float64(s.Requests)
}

// Workloads of RunPG.
const (
	WorkloadProxy5  = "5 tokens proxied, cached"
	WorkloadCreate  = "token create"
	nodesBadger     = "Badger"
	nodesPostgres   = "PostgreSQL"
	nodesPostgresX2 = "PostgreSQL ×2"
)

// RunPG measures a node whose vault is in PostgreSQL against a Badger node, as processes on
// loopback: the 5-token proxied request with its tokens cached and token creation, each on the
// Badger node, on one PostgreSQL node and on two PostgreSQL nodes sharing the database at once
// — requests/s, latency, and CPU per request of the nodes and of PostgreSQL (when it is ours:
// its postmaster and every backend). Each run is bounded by o.Duration.
func RunPG(ctx context.Context, o PGOptions) ([]PGSample, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	dir, err := os.MkdirTemp("", "sluice-pgload-")
	if err != nil {
		return nil, err
	}
	if !o.KeepDir {
		defer os.RemoveAll(dir)
	}
	bin := filepath.Join(dir, "sluice")
	if err := goBuild(ctx, o.Go, o.Repo, bin, "."); err != nil {
		return nil, err
	}
	dbURL, pgPID, stopPG, err := postgres(o.DatabaseURL, o.Throwaway)
	if err != nil {
		return nil, fmt.Errorf("harness: PostgreSQL: %w", err)
	}
	defer stopPG() // after the nodes stop
	destAddr, stopDest, err := startDestination()
	if err != nil {
		return nil, err
	}
	defer stopDest()

	targets, addrs := map[string]*proc{}, map[string]string{}
	defer func() {
		for _, p := range targets {
			p.stop(10 * time.Second)
		}
	}()
	badger := newNode(Sluice, "--data-dir", filepath.Join(dir, "vault"))
	pg1 := newNode(SluicePG+"-1", "--database-url", dbURL, "--data-dir", filepath.Join(dir, "vault-pg1"))
	pg2 := pg1 // same keys, same database
	pg2.name, pg2.args = SluicePG+"-2", []string{"--database-url", dbURL, "--data-dir", filepath.Join(dir, "vault-pg2")}
	for _, n := range []node{badger, pg1, pg2} {
		if _, err := n.start(ctx, dir, os.Environ(), bin, nil, targets, addrs, time.Minute); err != nil {
			return nil, err
		}
	}
	logf(o.Log, "PostgreSQL at %s (ours: %v); nodes %s (Badger), %s and %s (PostgreSQL)", redacted(dbURL), pgPID != 0, addrs[badger.name], addrs[pg1.name], addrs[pg2.name])

	proxy5 := map[string]*scenario.Scenario{} // node 2 uses node 1's proxy and tokens
	for _, n := range []node{badger, pg1} {
		ss, err := scenario.Setup(scenario.NewClient(addrs[n.name], n.adminKey, nil), "http://"+destAddr, scenario.Modules{})
		if err != nil {
			return nil, fmt.Errorf("harness: %s: %w", n.name, err)
		}
		proxy5[n.name] = scenario.ByKey(ss, scenario.Tokens5)
	}
	proxy5[pg2.name] = proxy5[pg1.name]
	for name, s := range proxy5 { // node 2 learns of node 1's proxy through the change feed
		if err := waitCheck(ctx, s, addrs, name, 30*time.Second); err != nil {
			return nil, err
		}
	}
	creates := func(n node) []loadgen.Request {
		var rs []loadgen.Request
		for _, pan := range fixture.PANs {
			body, _ := json.Marshal(map[string]any{"type": "card_number", "data": pan})
			rs = append(rs, loadgen.Request{Method: "POST", URI: "/tokens", Body: body,
				Header: [][2]string{{"Content-Type", "application/json"}, {"BT-API-KEY", n.adminKey}}})
		}
		return rs
	}

	type load struct {
		node string
		reqs []loadgen.Request
	}
	runs := []struct {
		workload, nodes string
		loads           []load
		status          int
	}{
		{WorkloadProxy5, nodesBadger, []load{{badger.name, proxy5[badger.name].Requests}}, 200},
		{WorkloadProxy5, nodesPostgres, []load{{pg1.name, proxy5[pg1.name].Requests}}, 200},
		{WorkloadProxy5, nodesPostgresX2, []load{{pg1.name, proxy5[pg1.name].Requests}, {pg2.name, proxy5[pg2.name].Requests}}, 200},
		{WorkloadCreate, nodesBadger, []load{{badger.name, creates(badger)}}, 201},
		{WorkloadCreate, nodesPostgres, []load{{pg1.name, creates(pg1)}}, 201},
		{WorkloadCreate, nodesPostgresX2, []load{{pg1.name, creates(pg1)}, {pg2.name, creates(pg2)}}, 201},
	}
	var out []PGSample
	for _, r := range runs {
		var gens []*loadgen.Generator
		var procs []*proc
		for _, l := range r.loads {
			g, err := loadgen.New(loadgen.Config{Addr: addrs[l.node], Concurrency: o.Concurrency, Rate: o.Rate, Requests: l.reqs, WantStatus: r.status, Timeout: 10 * time.Second})
			if err != nil {
				return nil, err
			}
			defer g.Close()
			gens, procs = append(gens, g), append(procs, targets[l.node])
		}
		s, err := measureTogether(ctx, gens, procs, pgPID, o)
		if err != nil {
			return out, err
		}
		s.Workload, s.Nodes, s.Concurrency = r.workload, r.nodes, o.Concurrency
		out = append(out, s)
		logf(o.Log, "%-26s %-14s %8.0f req/s  p50 %-8s p99 %-8s  CPU µs/req: Sluice %.1f, PostgreSQL %.1f%s",
			s.Workload, s.Nodes, s.RPS, fmtDur(s.P50), fmtDur(s.P99), s.PerRequest(s.NodeCPU), s.PerRequest(s.PGCPU),
			errNote(Sample{Errors: s.Errors, FirstError: s.FirstError}))
	}
	return out, nil
}

// waitCheck repeats check of s on target until it passes or wait has passed.
func waitCheck(ctx context.Context, s *scenario.Scenario, addrs map[string]string, target string, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		err := check(s, addrs, []string{target})
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// measureTogether warms up, lets the nodes go idle, then runs every generator at once for
// o.Duration and charges the nodes' CPU (until they are idle again, at most o.Settle) and
// PostgreSQL's (pgPID and its children; none when 0) to the run's requests.
func measureTogether(ctx context.Context, gens []*loadgen.Generator, nodes []*proc, pgPID int, o PGOptions) (PGSample, error) {
	runAll := func(d time.Duration) []loadgen.Result {
		res := make([]loadgen.Result, len(gens))
		var wg sync.WaitGroup
		for i, g := range gens {
			wg.Go(func() { res[i] = g.Run(ctx, d) })
		}
		wg.Wait()
		return res
	}
	cpu := func() (nodeCPU, pgCPU time.Duration, err error) {
		for _, p := range nodes {
			if _, err := p.settle(ctx, o.Settle); err != nil {
				return 0, 0, err
			}
		}
		for _, p := range nodes {
			c, err := p.cpu()
			if err != nil {
				return 0, 0, err
			}
			nodeCPU += c
		}
		if pgPID != 0 {
			pgCPU, err = CPUTime(pgPID, true)
		}
		return nodeCPU, pgCPU, err
	}
	if o.Warmup > 0 {
		runAll(o.Warmup)
	}
	node0, pg0, err := cpu()
	if err != nil {
		return PGSample{}, err
	}
	results := runAll(o.Duration)
	node1, pg1, err := cpu()
	if err != nil {
		return PGSample{}, err
	}
	s := PGSample{NodeCPU: node1 - node0, PGCPU: pg1 - pg0}
	var lat []time.Duration
	for _, r := range results {
		s.Requests += r.Requests
		s.Errors += r.Errors
		if s.FirstError == "" {
			s.FirstError = r.FirstError
		}
		s.Elapsed = max(s.Elapsed, r.Elapsed)
		lat = append(lat, r.Latencies...)
	}
	slices.Sort(lat)
	all := loadgen.Result{Requests: s.Requests, Elapsed: s.Elapsed, Latencies: lat}
	s.RPS, s.P50, s.P99 = all.RPS(), all.Percentile(0.50), all.Percentile(0.99)
	return s, nil
}

// redacted is u without its password, for the log.
func redacted(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(a URL that does not parse)"
	}
	return p.Redacted()
}
