package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// proc is a benchmarked server process. Its output goes to a log file; it is killed if the
// harness dies (see sysProcAttr) and stopped by stop otherwise.
type proc struct {
	name     string
	cmd      *exec.Cmd
	log      string
	children bool      // count its children's CPU too (nginx workers)
	cgOut    string    // under callgrind: its --callgrind-out-file (dump n is cgOut.n)
	dumps    int       // callgrind dumps so far
	keep     bool      // keep the dump files (for callgrind_annotate)
	lastDump time.Time // when the previous dump returned
	done     chan struct{}
	err      error // after done
}

func startProc(name, logPath string, env []string, bin string, args ...string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("harness: start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, waits up to grace, then kills.
func (p *proc) stop(grace time.Duration) {
	if p.exited() {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// cpu returns the CPU time the process (and, if children, its workers) has used.
func (p *proc) cpu() (time.Duration, error) { return CPUTime(p.pid(), p.children) }

// Idle detection for settle: a process is idle when it used at most idleCPU of CPU time in an
// idleWindow (/proc counts in 10 ms ticks, so this is "at most one tick in 200 ms").
const (
	idleWindow = 200 * time.Millisecond
	idleCPU    = 10 * time.Millisecond
)

// settle waits until the process is idle — its background work (audit journal ingestion, Badger
// flushes and compactions, GC) has caught up — or max has passed. It returns how long it waited.
func (p *proc) settle(ctx context.Context, max time.Duration) (time.Duration, error) {
	start := time.Now()
	prev, err := p.cpu()
	if err != nil {
		return 0, err
	}
	for time.Since(start) < max {
		select {
		case <-ctx.Done():
			return time.Since(start), ctx.Err()
		case <-p.done:
			return time.Since(start), fmt.Errorf("%w: %s (%v); see %s", errExited, p.name, p.err, p.log)
		case <-time.After(idleWindow):
		}
		now, err := p.cpu()
		if err != nil {
			return 0, err
		}
		if now-prev <= idleCPU {
			break
		}
		prev = now
	}
	return time.Since(start), nil
}

// waitHTTP polls url until it answers 200, the process exits, or timeout passes.
func (p *proc) waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("harness: %s exited before it was ready (%v); see %s", p.name, p.err, p.log)
		case <-ctx.Done():
			return fmt.Errorf("harness: %s not ready at %s after %v; see %s", p.name, url, timeout, p.log)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr, nil
}

var errExited = errors.New("harness: a benchmarked process exited")
