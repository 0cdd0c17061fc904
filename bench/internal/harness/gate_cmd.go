package harness

import (
	"context"
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

	"github.com/sluice-edge/sluice/bench/internal/instr"
)

// GateResultsFile is where the gate leaves its last results, relative to the module root; the
// in-process benchmarks of package bench report them as instr/op.
const GateResultsFile = "bench/out/gate.json"

// GateMain is command gate (bench/cmd/gate, make bench-gate): args are its flags; the result is its
// exit code. throwaway starts the cluster of -database-url auto.
func GateMain(args []string, stdout, stderr io.Writer, throwaway Throwaway) int {
	fs := flag.NewFlagSet("gate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		window  = fs.Int64("window", 500, "requests per counted window (BT-ENCRYPTED: a tenth)")
		windows = fs.Int("windows", 5, "windows per target and scenario (the median counts)")
		only    = fs.String("only", "", "comma-separated scenario keys to count (exploring; budgets of the others are then missed)")
		warmup  = fs.Int64("warmup", 200, "requests before the first window")
		budget  = fs.String("budget", "", "override budgets, e.g. tokens=0=1.2,tokens=5=2.5,tokens=5+wasm=8000,encrypted=40000,repeat=0.03")
		nginx   = fs.String("nginx", "auto", `nginx binary for the reference ("auto": from PATH if installed; "off": none)`)
		wasm    = fs.String("wasm", "transforms/testdata/tiny.wasm", "tiny module for the wasm scenario, relative to the module root")
		timeout = fs.Duration("timeout", 9*time.Minute, "hard limit for the whole run")
		keep    = fs.Bool("keep", false, "keep the temporary directory (binaries, logs, callgrind files)")
		out     = fs.String("o", "", "also write the Markdown report to this file")
		goCmd   = fs.String("go", "go", "go command used for the builds")
		from    = fs.String("from", "", "judge the results saved by an earlier run (e.g. "+GateResultsFile+") instead of measuring")
		oneCPU  = fs.Bool("one-cpu", true, "run the proxies, the load generator and the destination on one CPU (the order of their events then does not depend on the neighbours)")
		pgURL   = fs.String("database-url", "", `also count a node whose vault is in PostgreSQL at this URL (an empty database; "auto": a throwaway cluster) on 0 and 5 tokens; reported, not budgeted`)
	)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "gate:", err)
		return 2
	}
	b := instr.Default
	if *budget != "" {
		if err := b.Set(*budget); err != nil {
			return fail(err)
		}
	}
	if *window < 10 || *windows < 1 || *warmup < 0 {
		return fail(errors.New("-window must be ≥ 10, -windows ≥ 1, -warmup ≥ 0"))
	}
	if runtime.GOOS != "linux" {
		return fail(errors.New("needs Linux"))
	}
	repo, err := ModuleRoot()
	if err != nil {
		return fail(err)
	}
	o := InstrOptions{Repo: repo, Go: *goCmd, Window: *window, Windows: *windows, Warmup: *warmup,
		KeepDir: *keep, Log: stderr, DatabaseURL: *pgURL, Throwaway: throwaway, OneCPU: *oneCPU}
	if *only != "" {
		o.Only = strings.Split(*only, ",")
	}
	if o.Wasm = *wasm; o.Wasm != "" && !filepath.IsAbs(o.Wasm) {
		o.Wasm = filepath.Join(repo, o.Wasm)
	}
	switch *nginx {
	case "", "off":
	case "auto":
		o.NginxBin, _ = exec.LookPath("nginx")
	default:
		o.NginxBin = *nginx
	}
	if o.NginxBin == "" {
		fmt.Fprintln(stderr, "gate: nginx not used (not installed, or -nginx off)")
	}

	var res *instr.Results
	if *from != "" {
		if res, err = instr.Load(*from); err != nil {
			return fail(err)
		}
	} else {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		var dir string
		res, dir, err = RunInstr(ctx, o)
		if *keep && dir != "" {
			fmt.Fprintln(stderr, "gate: kept", dir)
		}
		if err != nil {
			return fail(err)
		}
		res.Commit = gitCommit(repo)
	}

	var md strings.Builder
	fmt.Fprintf(&md, "Sluice instructions per request (callgrind), %s, %s, %s, commit %s, took %s\n\n",
		res.Started.Format(time.RFC3339), res.Machine, res.Go, res.Commit, res.Took.Round(time.Second))
	instr.WriteTable(&md, res)
	instr.WritePostgresTable(&md, res)
	vs := instr.Evaluate(res, b)
	md.WriteString("\nBudgets:\n\n")
	for _, v := range vs {
		md.WriteString("- " + v.String() + "\n")
	}
	fmt.Fprint(stdout, md.String())
	if *out != "" {
		if err := os.WriteFile(*out, []byte(md.String()), 0o644); err != nil {
			return fail(err)
		}
	}
	if *from == "" { // a run judged again is not saved again
		saveGateResults(repo, res, stderr)
	}
	if n := instr.Missed(vs); n > 0 {
		fmt.Fprintf(stderr, "gate: %d budget(s) missed\n", n)
		return 1
	}
	fmt.Fprintln(stderr, "gate: every budget met")
	return 0
}

// saveGateResults leaves res in GateResultsFile for the in-process benchmarks (gate-instr/op).
func saveGateResults(repo string, res *instr.Results, stderr io.Writer) {
	path := filepath.Join(repo, GateResultsFile)
	err := os.MkdirAll(filepath.Dir(path), 0o755)
	if err == nil {
		err = instr.Save(path, res)
	}
	if err != nil {
		fmt.Fprintln(stderr, "gate: results not saved:", err)
	}
}

// gitCommit is the module's git commit, with "+dirty" when the work tree has changes; "" outside git.
func gitCommit(repo string) string {
	b, err := exec.Command("git", "-C", repo, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return ""
	}
	c := strings.TrimSpace(string(b))
	if st, err := exec.Command("git", "-C", repo, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		c += "+dirty"
	}
	return c
}
