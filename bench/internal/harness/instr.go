package harness

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-edge/sluice/bench/internal/instr"
	"github.com/sluice-edge/sluice/bench/internal/loadgen"
	"github.com/sluice-edge/sluice/bench/internal/scenario"
)

// InstrOptions configure RunInstr.
type InstrOptions struct {
	Repo     string   // module root
	Go       string   // go command
	Window   int64    // requests per counted window
	Windows  int      // windows per (target, scenario); the median counts
	Warmup   int64    // requests before the first window
	Wasm     string   // tiny module for the wasm scenario ("" = n/a)
	NginxBin string   // nginx binary; "" = none
	Only     []string // scenario keys to count; empty = all (the gate then cannot pass)
	// DatabaseURL adds a Sluice node whose vault is in PostgreSQL (SluicePG), counted on the 0-
	// and 5-token scenarios: "auto" starts a throwaway cluster, "" adds none.
	DatabaseURL string
	Throwaway   Throwaway // starts the cluster DatabaseURL "auto" asks for
	// OneCPU runs the proxies, the load generator and the destination on one CPU (RunInstr).
	OneCPU  bool
	KeepDir bool
	Log     io.Writer
}

// goRuntimeUnderValgrind: valgrind 3.19 delivers the preemption signal badly and does not
// implement RDTSCP.
const goRuntimeUnderValgrind = "GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off"

// countedEnv is the environment of a process counted under callgrind. No garbage collection
// runs in it: a cycle (~30 M instructions in Sluice, forced every two minutes if not sooner)
// lands in a window or an idle span by chance; the allocations stay counted. The memory limit
// only keeps a runaway from taking the machine.
func countedEnv() []string {
	return append(os.Environ(), goRuntimeUnderValgrind, "GOGC=off", "GOMEMLIMIT=2GiB")
}

// x25519Ops is how many key agreements the X25519-alone measurement divides by.
const x25519Ops = 20

// encryptedWindowDivisor: a BT-ENCRYPTED request costs ~20 times a plain one, so its windows
// are that much shorter (the count per request stays exact; only the run time changes).
const encryptedWindowDivisor = 10

// RunInstr counts the instructions per request of the passthrough, Sluice (and nginx) on
// every scenario, each process under callgrind with instrumentation switched on after start
// up: per (target, scenario) a warm-up, then Windows windows of Window requests at
// concurrency 1, each between two callgrind dumps, minus the target's idle instructions for
// the window's length; the median window counts. Sluice's 5-token scenario is measured again
// at the end (Results.Repeat), and one X25519 agreement alone in a separate process.
func RunInstr(ctx context.Context, o InstrOptions) (*instr.Results, string, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	res := &instr.Results{Started: time.Now().UTC(), Go: runtime.Version(), Machine: machine(), Idle: map[string]float64{}}
	defer func() { res.Took = time.Since(res.Started) }()
	for _, tool := range []string{"valgrind", "callgrind_control"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, "", fmt.Errorf("harness: %s not installed (apt-get install valgrind)", tool)
		}
	}
	dir, err := os.MkdirTemp("", "sluice-gate-")
	if err != nil {
		return nil, "", err
	}
	if !o.KeepDir {
		defer os.RemoveAll(dir)
	}

	logf(o.Log, "building sluice, the passthrough, the X25519 probe and the Go guest in %s", dir)
	bins := map[string]string{}
	for name, pkg := range map[string]string{"sluice": ".", "passthrough": "./bench/cmd/passthrough", "x25519": "./bench/cmd/x25519"} {
		bins[name] = filepath.Join(dir, name)
		if err := goBuild(ctx, o.Go, o.Repo, bins[name], pkg); err != nil {
			return nil, dir, err
		}
	}
	var mods scenario.Modules
	if o.Wasm != "" {
		if mods.Tiny, err = os.ReadFile(o.Wasm); err != nil {
			return nil, dir, err
		}
	}
	goGuestNA := ""
	if mods.GoGuest, err = buildGoGuest(ctx, o.Go, o.Repo, dir); err != nil {
		goGuestNA = err.Error()
		logf(o.Log, "Go guest: %v", err)
	}

	if o.OneCPU {
		cpu, err := pinToOneCPU()
		if err != nil {
			return nil, dir, err
		}
		logf(o.Log, "every process of the run on CPU %d", cpu)
	}

	if res.X25519, err = countX25519(ctx, dir, bins["x25519"]); err != nil {
		return nil, dir, err
	}
	logf(o.Log, "X25519 alone: %s instructions", instr.K(res.X25519))

	destAddr, stopDest, err := startDestination()
	if err != nil {
		return nil, dir, err
	}
	defer stopDest()

	pgURL := ""
	if o.DatabaseURL != "" {
		url, _, stopPG, err := postgres(o.DatabaseURL, o.Throwaway)
		if err != nil {
			return nil, dir, fmt.Errorf("harness: PostgreSQL: %w", err)
		}
		defer stopPG() // after the nodes stop
		pgURL = url
	}

	targets := map[string]*proc{}
	addrs := map[string]string{}
	defer func() {
		for _, p := range targets {
			p.stop(10 * time.Second)
		}
	}()
	grind := func(name string, args ...string) []string {
		return append([]string{"--tool=callgrind", "--instr-atstart=no",
			"--callgrind-out-file=" + filepath.Join(dir, name+".callgrind")}, args...)
	}
	env := countedEnv()

	addr, err := freeAddr()
	if err != nil {
		return nil, dir, err
	}
	p, err := startProc(Passthrough, filepath.Join(dir, "passthrough.log"), env, "valgrind",
		grind(Passthrough, bins["passthrough"], "-listen", addr, "-upstream", destAddr, "-lifetime", "30m")...)
	if err != nil {
		return nil, dir, err
	}
	p.cgOut = filepath.Join(dir, Passthrough+".callgrind")
	targets[Passthrough], addrs[Passthrough] = p, addr
	if err := p.waitHTTP(ctx, "http://"+addr+"/", 2*time.Minute); err != nil {
		return nil, dir, err
	}

	adminKey, sluiceAddr, err := startSluiceWith(ctx, dir, env, "valgrind", grind(Sluice, bins["sluice"]), targets, addrs, 3*time.Minute)
	if err != nil {
		return nil, dir, err
	}
	res.Targets = []string{Passthrough, Sluice}
	if o.NginxBin != "" {
		if err := startNginxGrind(ctx, dir, env, o.NginxBin, grind(Nginx), destAddr, targets, addrs); err != nil {
			logf(o.Log, "nginx reference skipped: %v", err)
			if p := targets[Nginx]; p != nil {
				p.stop(5 * time.Second)
				delete(targets, Nginx)
			}
		} else {
			res.Targets = append(res.Targets, Nginx)
		}
	}

	ss, err := scenario.Setup(scenario.NewClient(sluiceAddr, adminKey, nil), "http://"+destAddr, mods)
	if err != nil {
		return nil, dir, err
	}
	var pgSS []scenario.Scenario // the PostgreSQL node's own copies of the scenarios it runs
	if pgURL != "" {
		n := newNode(SluicePG, "--database-url", pgURL, "--data-dir", filepath.Join(dir, "vault-pg"))
		addr, err := n.start(ctx, dir, env, "valgrind", grind(SluicePG, bins["sluice"]), targets, addrs, 3*time.Minute)
		if err != nil {
			return nil, dir, err
		}
		all, err := scenario.Setup(scenario.NewClient(addr, n.adminKey, nil), "http://"+destAddr, scenario.Modules{})
		if err != nil {
			return nil, dir, fmt.Errorf("harness: %s: %w", SluicePG, err)
		}
		for _, k := range []string{scenario.Tokens0, scenario.Tokens5} {
			if s := scenario.ByKey(all, k); (len(o.Only) == 0 || slices.Contains(o.Only, k)) && s != nil {
				if err := check(s, addrs, []string{SluicePG}); err != nil {
					return nil, dir, err
				}
				pgSS = append(pgSS, *s)
			}
		}
	}
	if len(o.Only) > 0 {
		var keep []scenario.Scenario
		for _, k := range o.Only {
			s := scenario.ByKey(ss, k)
			if s == nil {
				return nil, dir, fmt.Errorf("harness: no scenario %q", k)
			}
			keep = append(keep, *s)
		}
		ss = keep
	}
	for i := range ss {
		s := &ss[i]
		if s.Key == scenario.GoGuest && goGuestNA != "" {
			s.NA = goGuestNA
		}
		res.Scenarios = append(res.Scenarios, instr.Scenario{Key: s.Key, Name: s.Name, NA: s.NA})
		if s.NA != "" {
			logf(o.Log, "scenario %s: n/a: %s", s.Key, s.NA)
			continue
		}
		if err := check(s, addrs, res.Targets); err != nil {
			return nil, dir, err
		}
	}

	if pgURL != "" { // checked on its own scenarios above
		res.Targets = append(res.Targets, SluicePG)
	}
	for _, t := range res.Targets {
		p := targets[t]
		p.keep = o.KeepDir
		if err := p.callgrind(ctx, "--instr=on"); err != nil {
			return nil, dir, err
		}
		before, err := p.idle(ctx, idleSpan)
		if err != nil {
			return nil, dir, err
		}
		scenarios := ss
		if t == SluicePG {
			scenarios = pgSS
		}
		var counted []counted
		for _, s := range scenarios {
			if s.NA != "" {
				continue
			}
			ot := o
			if t == Passthrough {
				// The denominator of every ratio: three times the windows, cheaply.
				ot.Windows = 3 * max(o.Windows, 1)
			}
			c, err := countScenario(ctx, p, addrs[t], &s, ot)
			if err != nil {
				return nil, dir, err
			}
			counted = append(counted, c)
		}
		after, err := p.idle(ctx, idleSpan)
		if err != nil {
			return nil, dir, err
		}
		res.Idle[t] = idleRate(before, after)
		logf(o.Log, "%s idle: %s instructions/s (%s before the scenarios, %s after)", t, instr.K(res.Idle[t]),
			instr.K(idleRate(before)), instr.K(idleRate(after)))
		for _, c := range counted {
			ic := c.count(res.Idle[t])
			ic.Target = t
			res.Counts = append(res.Counts, ic)
			logf(o.Log, "%-11s %-16s %9s instructions/request (windows %s)", t, ic.Scenario, instr.K(ic.PerRequest), fmtWindows(ic.Windows))
		}
	}
	if s := scenario.ByKey(ss, scenario.Tokens5); s != nil && s.NA == "" {
		first, _ := res.Get(Sluice, s.Key)
		c, err := countScenario(ctx, targets[Sluice], addrs[Sluice], s, o)
		if err != nil {
			return nil, dir, err
		}
		again := c.count(res.Idle[Sluice])
		res.Repeat = &instr.Repeat{Scenario: s.Key, First: first, Second: again.PerRequest}
		logf(o.Log, "sluice      %-16s %9s instructions/request again", s.Key, instr.K(again.PerRequest))
	}
	return res, dir, nil
}

func fmtWindows(w []float64) string {
	var parts []string
	for _, x := range w {
		parts = append(parts, instr.K(x))
	}
	return strings.Join(parts, ", ")
}

// idleSpan is how long a target's idle instructions are counted, before and after its scenarios.
const idleSpan = 2 * time.Second

// span is what callgrind counted between two dumps, and the wall time in between.
type span struct {
	instructions uint64
	wall         time.Duration
}

// counted is one target's windows on one scenario, before its idle work is subtracted.
type counted struct {
	scenario string
	requests int64 // per window
	windows  []span
}

// count subtracts from each window the idle instructions of its length (idle per second,
// measured around the scenarios) and takes the median window per request.
func (c counted) count(idle float64) instr.Count {
	ic := instr.Count{Scenario: c.scenario, Requests: c.requests}
	for _, w := range c.windows {
		ic.Windows = append(ic.Windows, (float64(w.instructions)-idle*w.wall.Seconds())/float64(c.requests))
	}
	ic.PerRequest = instr.Median(ic.Windows)
	return ic
}

// idleRate is the idle instructions per second over the spans together.
func idleRate(spans ...span) float64 {
	var n uint64
	var d time.Duration
	for _, s := range spans {
		n += s.instructions
		d += s.wall
	}
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// countScenario sends the warm-up, then counts Windows windows of requests on one connection.
func countScenario(ctx context.Context, p *proc, addr string, s *scenario.Scenario, o InstrOptions) (counted, error) {
	n := o.Window
	if s.Key == scenario.Encrypted {
		n = max(1, n/encryptedWindowDivisor)
	}
	c := counted{scenario: s.Key, requests: n}
	g, err := loadgen.New(loadgen.Config{Addr: addr, Concurrency: 1, Requests: s.Requests, Timeout: time.Minute})
	if err != nil {
		return c, err
	}
	defer g.Close()
	if r := g.RunCount(ctx, max(o.Warmup, 1)); r.Errors > 0 {
		return c, fmt.Errorf("harness: %s on %s: warm-up: %d errors (first: %s)", s.Key, p.name, r.Errors, r.FirstError)
	}
	if _, err := p.dump(ctx); err != nil { // zero: the window starts here
		return c, err
	}
	for range max(o.Windows, 1) {
		r := g.RunCount(ctx, n)
		if r.Errors > 0 || r.Requests != n {
			return c, fmt.Errorf("harness: %s on %s: %d of %d requests, %d errors (first: %s)", s.Key, p.name, r.Requests, n, r.Errors, r.FirstError)
		}
		w, err := p.dump(ctx)
		if err != nil {
			return c, err
		}
		c.windows = append(c.windows, w)
	}
	return c, nil
}

// idle counts the process's instructions over d with nothing to do.
func (p *proc) idle(ctx context.Context, d time.Duration) (span, error) {
	if _, err := p.dump(ctx); err != nil {
		return span{}, err
	}
	select {
	case <-ctx.Done():
		return span{}, ctx.Err()
	case <-time.After(d):
	}
	return p.dump(ctx)
}

// callgrind sends one callgrind_control command to the process.
func (p *proc) callgrind(ctx context.Context, arg string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "callgrind_control", arg, strconv.Itoa(p.pid())).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("OK")) {
		return fmt.Errorf("harness: callgrind_control %s %s: %v: %s", arg, p.name, err, out)
	}
	return nil
}

// dump makes callgrind write its counters (and zero them) and returns the instructions
// counted since the previous dump, all threads, and the wall time in between (from the
// previous dump's return to this one's: a dump takes about as long each time).
func (p *proc) dump(ctx context.Context) (span, error) {
	if err := p.callgrind(ctx, "--dump"); err != nil {
		return span{}, err
	}
	now := time.Now()
	s := span{wall: now.Sub(p.lastDump)}
	p.lastDump = now
	p.dumps++
	path := fmt.Sprintf("%s.%d", p.cgOut, p.dumps)
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := callgrindTotal(path)
		if err == nil {
			if !p.keep {
				os.Remove(path)
			}
			s.instructions = n
			return s, nil
		}
		if time.Now().After(deadline) {
			return span{}, fmt.Errorf("harness: %s: %w", p.name, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// callgrindTotal reads the "totals:" line of a callgrind output file (written last).
func callgrindTotal(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "totals:"); ok {
			return strconv.ParseUint(strings.Fields(v)[0], 10, 64)
		}
	}
	return 0, errors.New("no totals in " + path + " (yet)")
}

// countX25519 runs the X25519 probe under callgrind, counting only its key agreements.
func countX25519(ctx context.Context, dir, bin string) (float64, error) {
	out := filepath.Join(dir, "x25519.callgrind")
	cmd := exec.CommandContext(ctx, "valgrind", "--tool=callgrind", "--toggle-collect=main.agree",
		"--callgrind-out-file="+out, bin, "-n", strconv.Itoa(x25519Ops))
	cmd.Env = append(os.Environ(), goRuntimeUnderValgrind)
	if b, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("harness: x25519 probe: %w: %s", err, b)
	}
	n, err := callgrindTotal(out)
	if err != nil {
		return 0, err
	}
	return float64(n) / x25519Ops, nil
}

// buildGoGuest compiles bench/testdata/goguest for wasip1, as a transform module.
func buildGoGuest(ctx context.Context, goCmd, repo, dir string) ([]byte, error) {
	out := filepath.Join(dir, "goguest.wasm")
	cmd := exec.CommandContext(ctx, goCmd, "build", "-buildmode=c-shared", "-trimpath", "-o", out, "./bench/testdata/goguest")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the Go guest: %w: %s", err, b)
	}
	return os.ReadFile(out)
}

// startNginxGrind runs nginx as one process (no master, one worker) under callgrind.
func startNginxGrind(ctx context.Context, dir string, env []string, bin string, grind []string, destAddr string, targets map[string]*proc, addrs map[string]string) error {
	addr, prefix, conf, err := writeNginxConf(dir, destAddr, true)
	if err != nil {
		return err
	}
	p, err := startProc(Nginx, filepath.Join(dir, "nginx.log"), env, "valgrind", append(grind, bin, "-e", "stderr", "-p", prefix, "-c", conf)...)
	if err != nil {
		return err
	}
	targets[Nginx], addrs[Nginx] = p, addr
	p.cgOut = filepath.Join(dir, Nginx+".callgrind")
	return p.waitHTTP(ctx, "http://"+addr+"/", 2*time.Minute)
}

// machine describes the CPU: "2 × AMD EPYC …".
func machine() string { return fmt.Sprintf("%d × %s", runtime.NumCPU(), cpuModel()) }

// cpuModel is the CPU's model name from /proc/cpuinfo.
func cpuModel() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	return cpu
}
