package harness

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-edge/sluice/bench/internal/dest"
	"github.com/sluice-edge/sluice/bench/internal/loadgen"
	"github.com/sluice-edge/sluice/bench/internal/scenario"
)

// Options configure Run. cmd/e2e sets every field from its flags; Run uses them as given.
type Options struct {
	Repo        string        // module root (where go.mod is)
	Go          string        // the go command that builds Sluice and the passthrough
	Duration    time.Duration // measured time per run
	Warmup      time.Duration // unmeasured time before each run, on the same connections
	Settle      time.Duration // at most this long waiting for the target to go idle, before and after each run
	Rounds      int           // every (scenario, target, concurrency) is measured once per round
	Concurrency []int         // connections of the load generator
	Wasm        string        // module for the wasm scenario ("" = n/a)
	NginxBin    string        // nginx binary; "" = no nginx reference
	Only        []string      // scenario keys to measure; empty = all
	KeepDir     bool          // keep the temporary directory (binaries, logs, vault)
	Log         io.Writer     // progress lines
}

// Report is what Run measured.
type Report struct {
	Scenarios   []scenario.Scenario
	Samples     []Sample
	Targets     []string
	Concurrency []int
	Dir         string // temporary directory (removed unless KeepDir)
	Started     time.Time
	Took        time.Duration
}

// Run builds Sluice and the passthrough, starts them (and nginx), provisions the scenarios,
// checks that Sluice detokenizes them, then measures every target on every scenario at every
// concurrency, once per round, interleaved. It stops everything it started before returning,
// also when ctx ends.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	rep := &Report{Concurrency: o.Concurrency, Started: time.Now()}
	defer func() { rep.Took = time.Since(rep.Started) }()
	dir, err := os.MkdirTemp("", "sluice-e2e-")
	if err != nil {
		return nil, err
	}
	rep.Dir = dir
	if !o.KeepDir {
		defer os.RemoveAll(dir)
	}

	logf(o.Log, "building sluice and the passthrough in %s", dir)
	sluiceBin, ptBin := filepath.Join(dir, "sluice"), filepath.Join(dir, "passthrough")
	if err := goBuild(ctx, o.Go, o.Repo, sluiceBin, "."); err != nil {
		return nil, err
	}
	if err := goBuild(ctx, o.Go, o.Repo, ptBin, "./bench/cmd/passthrough"); err != nil {
		return nil, err
	}

	destAddr, stopDest, err := startDestination()
	if err != nil {
		return nil, err
	}
	defer stopDest()

	targets := map[string]*proc{}
	addrs := map[string]string{}
	defer func() {
		for _, p := range targets {
			p.stop(10 * time.Second)
		}
	}()

	// Passthrough.
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p, err := startProc(Passthrough, filepath.Join(dir, "passthrough.log"), os.Environ(), ptBin,
		"-listen", addr, "-upstream", destAddr, "-lifetime", "30m")
	if err != nil {
		return nil, err
	}
	targets[Passthrough], addrs[Passthrough] = p, addr
	if err := p.waitHTTP(ctx, "http://"+addr+"/", 30*time.Second); err != nil {
		return nil, err
	}

	// Sluice.
	adminKey, sluiceAddr, err := startSluice(ctx, dir, sluiceBin, targets, addrs)
	if err != nil {
		return nil, err
	}

	// nginx, as a second reference.
	if o.NginxBin != "" {
		if err := startNginx(ctx, dir, o.NginxBin, destAddr, targets, addrs); err != nil {
			logf(o.Log, "nginx reference skipped: %v", err)
			if p := targets[Nginx]; p != nil {
				p.stop(5 * time.Second)
				delete(targets, Nginx)
			}
		}
	}
	rep.Targets = []string{Passthrough, Sluice}
	if targets[Nginx] != nil {
		rep.Targets = append(rep.Targets, Nginx)
	}

	// Scenarios.
	var mods scenario.Modules
	if o.Wasm != "" {
		if mods.Tiny, err = os.ReadFile(o.Wasm); err != nil {
			return nil, err
		}
	}
	client := scenario.NewClient(sluiceAddr, adminKey, nil)
	ss, err := scenario.Setup(client, "http://"+destAddr, mods)
	if err != nil {
		return nil, err
	}
	if len(o.Only) > 0 {
		var keep []scenario.Scenario
		for _, k := range o.Only {
			s := scenario.ByKey(ss, k)
			if s == nil {
				return nil, fmt.Errorf("harness: no scenario %q", k)
			}
			keep = append(keep, *s)
		}
		ss = keep
	}
	rep.Scenarios = ss
	for _, s := range ss {
		if s.NA != "" {
			logf(o.Log, "scenario %s: n/a: %s", s.Key, s.NA)
			continue
		}
		if err := check(&s, addrs, rep.Targets); err != nil {
			return nil, err
		}
	}

	// Measure: rounds × concurrency × scenario × target, rotating the target order per round.
	measured := 0
	for _, s := range ss {
		if s.NA == "" {
			measured++
		}
	}
	total := o.Rounds * len(o.Concurrency) * measured * len(rep.Targets)
	n := 0
	for round := 1; round <= o.Rounds; round++ {
		for _, c := range o.Concurrency {
			for _, s := range ss {
				if s.NA != "" {
					continue
				}
				for i := range rep.Targets {
					t := rep.Targets[(i+round-1)%len(rep.Targets)]
					if err := ctx.Err(); err != nil {
						return rep, fmt.Errorf("harness: stopped after %d of %d runs: %w", n, total, err)
					}
					smp, err := measure(ctx, targets[t], addrs[t], &s, c, o.Warmup, o.Duration, o.Settle)
					if err != nil {
						return rep, err
					}
					smp.Round, smp.Target = round, t
					rep.Samples = append(rep.Samples, smp)
					n++
					logf(o.Log, "[%d/%d] round %d c=%d %-14s %-11s %8.0f req/s  p50 %-8s p99 %-8s %7.1f µs CPU/req (idle after %.1fs)%s",
						n, total, round, c, s.Key, t, smp.RPS, fmtDur(smp.P50), fmtDur(smp.P99), smp.CPUPerRequest(), smp.Tail.Seconds(), errNote(smp))
				}
			}
		}
	}
	return rep, nil
}

func errNote(s Sample) string {
	if s.Errors == 0 {
		return ""
	}
	return fmt.Sprintf("  %d ERRORS (first: %s)", s.Errors, s.FirstError)
}

func logf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "e2e: "+format+"\n", args...)
}

func goBuild(ctx context.Context, goCmd, repo, out, pkg string) error {
	cmd := exec.CommandContext(ctx, goCmd, "build", "-o", out, pkg)
	cmd.Dir = repo
	b, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("harness: go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}

// startSluice starts the sluice binary with a fresh vault and random keys, and waits for /readyz.
func startSluice(ctx context.Context, dir, bin string, targets map[string]*proc, addrs map[string]string) (adminKey, addr string, err error) {
	return startSluiceWith(ctx, dir, os.Environ(), bin, nil, targets, addrs, time.Minute)
}

// startSluiceWith runs Sluice as "bin pre... serve ..." (pre: e.g. valgrind's arguments ending
// with the sluice binary) with env and the keys added, and waits up to wait for /readyz.
func startSluiceWith(ctx context.Context, dir string, env []string, bin string, pre []string, targets map[string]*proc, addrs map[string]string, wait time.Duration) (adminKey, addr string, err error) {
	n := newNode(Sluice, "--data-dir", filepath.Join(dir, "vault"))
	addr, err = n.start(ctx, dir, env, bin, pre, targets, addrs, wait)
	return n.adminKey, addr, err
}

// node is one Sluice process to start: its target name, its keys and more serve flags (where
// its vault is).
type node struct {
	name     string
	master   []byte
	adminKey string
	args     []string
}

// newNode is a node with random keys.
func newNode(name string, args ...string) node {
	master := make([]byte, 32)
	rand.Read(master)
	admin := make([]byte, 24)
	rand.Read(admin)
	return node{name: name, master: master, adminKey: hex.EncodeToString(admin), args: args}
}

// start runs the node as "bin pre... serve ..." with env and its keys added, registers it in
// targets and addrs under its name, and waits up to wait for /readyz.
func (n node) start(ctx context.Context, dir string, env []string, bin string, pre []string, targets map[string]*proc, addrs map[string]string, wait time.Duration) (addr string, err error) {
	if addr, err = freeAddr(); err != nil {
		return "", err
	}
	adminAddr, err := freeAddr()
	if err != nil {
		return "", err
	}
	env = append(env[:len(env):len(env)], "SLUICE_MASTER_KEY="+base64.StdEncoding.EncodeToString(n.master), "SLUICE_ADMIN_KEY="+n.adminKey)
	args := append(pre[:len(pre):len(pre)], "serve", "--listen", addr, "--admin-listen", adminAddr,
		"--allow-private-destinations", "--allow-http-destinations")
	p, err := startProc(n.name, filepath.Join(dir, n.name+".log"), env, bin, append(args, n.args...)...)
	if err != nil {
		return "", err
	}
	p.cgOut = filepath.Join(dir, n.name+".callgrind")
	targets[n.name], addrs[n.name] = p, addr
	return addr, p.waitHTTP(ctx, "http://"+adminAddr+"/readyz", wait)
}

// startNginx runs nginx as a reverse proxy to dest with upstream keep-alive, one worker per CPU,
// in the foreground, with every path under dir.
func startNginx(ctx context.Context, dir, bin, destAddr string, targets map[string]*proc, addrs map[string]string) error {
	addr, prefix, conf, err := writeNginxConf(dir, destAddr, false)
	if err != nil {
		return err
	}
	p, err := startProc(Nginx, filepath.Join(dir, "nginx.log"), os.Environ(), bin, "-e", "stderr", "-p", prefix, "-c", conf)
	if err != nil {
		return err
	}
	p.children = true
	targets[Nginx], addrs[Nginx] = p, addr
	return p.waitHTTP(ctx, "http://"+addr+"/", 30*time.Second)
}

func nginxConf(prefix, listen, upstream string) string {
	r := strings.NewReplacer("PREFIX", prefix, "LISTEN", listen, "UPSTREAM", upstream)
	return r.Replace(`daemon off;
master_process on;
worker_processes auto;
pid PREFIX/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path PREFIX/tmp/body;
	proxy_temp_path PREFIX/tmp/proxy;
	fastcgi_temp_path PREFIX/tmp/fastcgi;
	uwsgi_temp_path PREFIX/tmp/uwsgi;
	scgi_temp_path PREFIX/tmp/scgi;
	client_body_buffer_size 64k;
	upstream dest {
		server UPSTREAM;
		keepalive 64;
	}
	server {
		listen LISTEN;
		location / {
			proxy_pass http://dest;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_buffering off;
		}
	}
}
`)
}

// check sends the scenario's echo request through every target: Sluice must deliver the
// detokenized request, the references must answer 200.
func check(s *scenario.Scenario, addrs map[string]string, targets []string) error {
	for _, t := range targets {
		c := scenario.NewClient(addrs[t], "", nil)
		status, body, err := c.Send(s.Echo())
		c.CloseIdleConnections()
		if err != nil {
			return err
		}
		if status != 200 {
			return fmt.Errorf("harness: %s on %s: status %d", s.Key, t, status)
		}
		if strings.HasPrefix(t, Sluice) { // every Sluice node: sluice, sluice-pg…
			if err := s.Check(body); err != nil {
				return err
			}
		}
	}
	return nil
}

// measure warms up, waits for the target to go idle, runs the load for d, and keeps reading the
// target's CPU time until it is idle again (at most settle): background work the requests caused
// (audit journal ingestion, Badger flushes, GC) is charged to them and not to the next run.
func measure(ctx context.Context, p *proc, addr string, s *scenario.Scenario, conc int, warmup, d, settle time.Duration) (Sample, error) {
	g, err := loadgen.New(loadgen.Config{Addr: addr, Concurrency: conc, Requests: s.Requests, Timeout: 10 * time.Second})
	if err != nil {
		return Sample{}, err
	}
	defer g.Close()
	if warmup > 0 {
		g.Run(ctx, warmup)
	}
	if _, err := p.settle(ctx, settle); err != nil {
		return Sample{}, err
	}
	cpu0, err := p.cpu()
	if err != nil {
		return Sample{}, err
	}
	res := g.Run(ctx, d)
	tail, err := p.settle(ctx, settle)
	if err != nil {
		return Sample{}, err
	}
	cpu1, err := p.cpu()
	if err != nil {
		return Sample{}, err
	}
	return Sample{
		Scenario: s.Key, Concurrency: conc,
		Requests: res.Requests, Errors: res.Errors, FirstError: res.FirstError, Elapsed: res.Elapsed,
		RPS: res.RPS(), P50: res.Percentile(0.50), P99: res.Percentile(0.99), CPU: cpu1 - cpu0, Tail: tail,
	}, nil
}

// ParseConcurrency parses "1,32".
func ParseConcurrency(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 4096 {
			return nil, errors.New("harness: concurrency must be a comma-separated list of 1..4096")
		}
		out = append(out, n)
	}
	return out, nil
}

// startDestination serves the benchmark destination on 127.0.0.1 in this process (its CPU is
// nobody's measurement) until stop is called.
func startDestination() (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	ds := dest.Server()
	go ds.Serve(ln)
	return ln.Addr().String(), func() { ds.Shutdown() }, nil
}

// writeNginxConf lays out nginx's prefix under dir and writes its configuration for a free
// address proxying to destAddr; single runs it as one process (no master, one worker).
func writeNginxConf(dir, destAddr string, single bool) (addr, prefix, conf string, err error) {
	if addr, err = freeAddr(); err != nil {
		return
	}
	prefix = filepath.Join(dir, "nginx")
	if err = os.MkdirAll(filepath.Join(prefix, "tmp"), 0o755); err != nil {
		return
	}
	c := nginxConf(prefix, addr, destAddr)
	if single {
		c = strings.Replace(c, "master_process on;\nworker_processes auto;", "master_process off;\nworker_processes 1;", 1)
	}
	conf = filepath.Join(prefix, "nginx.conf")
	err = os.WriteFile(conf, []byte(c), 0o644)
	return
}
