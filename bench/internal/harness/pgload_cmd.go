package harness

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// PGLoadMain is command pgload (bench/cmd/pgload): args are its flags; the result is its exit code.
// throwaway starts the cluster of -database-url auto.
func PGLoadMain(args []string, stdout, stderr io.Writer, throwaway Throwaway) int {
	fs := flag.NewFlagSet("pgload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		dbURL    = fs.String("database-url", "auto", `an empty PostgreSQL database for the nodes ("auto": a throwaway cluster)`)
		duration = fs.Duration("duration", 5*time.Second, "measured time per run")
		warmup   = fs.Duration("warmup", time.Second, "unmeasured warm-up before each run")
		settle   = fs.Duration("settle", 2*time.Second, "at most this long waiting for the nodes to go idle around each run")
		conc     = fs.Int("c", 16, "connections per node")
		rate     = fs.Float64("rate", 0, "offered requests per second per node (0: each connection sends as soon as answered)")
		timeout  = fs.Duration("timeout", 5*time.Minute, "hard limit for the whole run")
		keep     = fs.Bool("keep", false, "keep the temporary directory (binary, logs)")
		out      = fs.String("o", "", "also write the Markdown report to this file")
		goCmd    = fs.String("go", "go", "go command used to build Sluice")
	)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "pgload:", err)
		return 2
	}
	if *duration <= 0 || *conc < 1 || *rate < 0 {
		return fail(errors.New("-duration must be > 0, -c ≥ 1 and -rate ≥ 0"))
	}
	if runtime.GOOS != "linux" {
		return fail(errors.New("needs Linux"))
	}
	repo, err := ModuleRoot()
	if err != nil {
		return fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	load := loadAverage()
	started := time.Now().UTC()
	samples, err := RunPG(ctx, PGOptions{Repo: repo, Go: *goCmd, DatabaseURL: *dbURL, Throwaway: throwaway, Duration: *duration,
		Warmup: *warmup, Settle: *settle, Concurrency: *conc, Rate: *rate, KeepDir: *keep, Log: stderr})
	if err != nil {
		return fail(err)
	}
	var md strings.Builder
	offered := "each sending as soon as answered"
	if *rate > 0 {
		offered = fmt.Sprintf("%.0f requests/s offered per node", *rate)
	}
	fmt.Fprintf(&md, "Sluice on PostgreSQL vs Badger, %s, %d CPUs, %s, load average before %s, after %s; %d connections per node, %s, %v per run\n\n",
		started.Format(time.RFC3339), runtime.NumCPU(), runtime.Version(), load, loadAverage(), *conc, offered, *duration)
	writePGTable(&md, samples)
	writePGGoals(&md, samples)
	fmt.Fprint(stdout, md.String())
	if *out != "" {
		if err := os.WriteFile(*out, []byte(md.String()), 0o644); err != nil {
			return fail(err)
		}
	}
	return 0
}

func writePGTable(w io.Writer, ss []PGSample) {
	fmt.Fprintln(w, "| workload | nodes | req/s | p50 | p99 | Sluice CPU µs/req | PostgreSQL CPU µs/req | errors |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|")
	for _, s := range ss {
		fmt.Fprintf(w, "| %s | %s | %.0f | %s | %s | %.1f | %.1f | %d |\n", s.Workload, s.Nodes, s.RPS,
			millis(s.P50), millis(s.P99), s.PerRequest(s.NodeCPU), s.PerRequest(s.PGCPU), s.Errors)
	}
}

// writePGGoals judges the goals of issue 19 on the samples (reported; nothing fails).
func writePGGoals(w io.Writer, ss []PGSample) {
	get := func(workload, nodes string) (PGSample, bool) {
		for _, s := range ss {
			if s.Workload == workload && s.Nodes == nodes {
				return s, true
			}
		}
		return PGSample{}, false
	}
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	fmt.Fprintln(w, "\nGoals (issue 19):")
	b, ok1 := get(WorkloadProxy5, "Badger")
	p, ok2 := get(WorkloadProxy5, "PostgreSQL")
	if ok1 && ok2 && b.PerRequest(b.NodeCPU) > 0 {
		node := p.PerRequest(p.NodeCPU) / b.PerRequest(b.NodeCPU)
		all := (p.PerRequest(p.NodeCPU) + p.PerRequest(p.PGCPU)) / b.PerRequest(b.NodeCPU)
		fmt.Fprintf(w, "- cached-token proxying, CPU per request, PostgreSQL node ÷ Badger node ≤ 1.2×: %.2f× (%s); with PostgreSQL's own CPU: %.2f× (%s)\n",
			node, verdict(node <= 1.2), all, verdict(all <= 1.2))
	}
	for _, nodes := range []string{"PostgreSQL", "PostgreSQL ×2"} {
		if c, ok := get(WorkloadCreate, nodes); ok {
			fmt.Fprintf(w, "- token creates ≥ 2,000/s, %s: %.0f/s (%s)\n", nodes, c.RPS, verdict(c.RPS >= 2000))
		}
	}
}

func millis(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// loadAverage is the first three fields of /proc/loadavg, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}
