package harness

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// E2EMain is command e2e (bench/cmd/e2e, make bench-e2e): args are its flags; the result is its exit code.
func E2EMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("e2e", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		duration = fs.Duration("duration", 4*time.Second, "measured time per run")
		warmup   = fs.Duration("warmup", time.Second, "unmeasured warm-up before each run")
		settle   = fs.Duration("settle", 3*time.Second, "at most this long waiting for a proxy to go idle before and after each run (its CPU until idle counts)")
		rounds   = fs.Int("rounds", 3, "rounds (each measures every scenario, target and concurrency once)")
		conc     = fs.String("c", "1,32", "concurrency levels (connections), comma-separated")
		only     = fs.String("only", "", "comma-separated scenario keys (tokens=0,tokens=5,tokens=5+wasm,encrypted); default all")
		wasm     = fs.String("wasm", "transforms/testdata/tiny.wasm", "module for the wasm scenario, relative to the module root")
		nginx    = fs.String("nginx", "auto", `nginx binary for the reference ("auto": from PATH if installed; "" or "off": none)`)
		timeout  = fs.Duration("timeout", 15*time.Minute, "hard limit for the whole run")
		keep     = fs.Bool("keep", false, "keep the temporary directory (binaries, logs, vault)")
		out      = fs.String("o", "", "also write the Markdown report to this file")
		jsonOut  = fs.String("json", "", "write every sample as JSON to this file")
		goCmd    = fs.String("go", "go", "go command used to build Sluice and the passthrough")
	)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "e2e:", err)
		return 2
	}
	if runtime.GOOS != "linux" {
		return fail(errors.New("needs Linux (/proc/<pid>/stat)"))
	}
	concs, err := ParseConcurrency(*conc)
	if err != nil {
		return fail(err)
	}
	if *rounds < 1 || *duration <= 0 {
		return fail(errors.New("-rounds must be ≥ 1 and -duration > 0"))
	}
	repo, err := ModuleRoot()
	if err != nil {
		return fail(err)
	}
	o := Options{Repo: repo, Go: *goCmd, Duration: *duration, Warmup: *warmup, Settle: *settle, Rounds: *rounds,
		Concurrency: concs, KeepDir: *keep, Log: stderr}
	if o.Wasm = *wasm; o.Wasm != "" && !filepath.IsAbs(o.Wasm) {
		o.Wasm = filepath.Join(repo, o.Wasm)
	}
	if *only != "" {
		o.Only = strings.Split(*only, ",")
	}
	switch *nginx {
	case "", "off":
	case "auto":
		o.NginxBin, _ = exec.LookPath("nginx")
	default:
		o.NginxBin = *nginx
	}
	if o.NginxBin == "" {
		fmt.Fprintln(stderr, "e2e: nginx not used (not installed, or -nginx off)")
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	rep, err := Run(ctx, o)
	if *keep && rep != nil {
		fmt.Fprintln(stderr, "e2e: kept", rep.Dir)
	}
	if err != nil {
		return fail(err)
	}

	var md strings.Builder
	writeE2EReport(&md, rep)
	fmt.Fprint(stdout, md.String())
	if *out != "" {
		if err := os.WriteFile(*out, []byte(md.String()), 0o644); err != nil {
			return fail(err)
		}
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(rep.Samples, "", "  ")
		if err := os.WriteFile(*jsonOut, b, 0o644); err != nil {
			return fail(err)
		}
	}
	return 0
}

func writeE2EReport(w io.Writer, rep *Report) {
	fmt.Fprintf(w, "Sluice end to end, %s, %d CPUs (%s), %s\n\n", rep.Started.UTC().Format(time.RFC3339), runtime.NumCPU(), cpuModel(), runtime.Version())
	WriteTable(w, rep.Scenarios, rep.Samples, rep.Concurrency, rep.Targets)
	for _, s := range rep.Scenarios {
		if s.NA != "" {
			fmt.Fprintf(w, "\n%s: n/a — %s\n", s.Key, s.NA)
		}
	}
	fmt.Fprintf(w, "\nMedians of %d interleaved rounds; took %s.\n", e2eRounds(rep), rep.Took.Round(time.Second))
}

func e2eRounds(rep *Report) int {
	n := 0
	for _, s := range rep.Samples {
		n = max(n, s.Round)
	}
	return n
}
