package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rss is the resident set of process pid from /proc (bytes): total, anonymous (heaps, arenas),
// file-backed and shared-memory pages (mapped files: on disk and on tmpfs).
type rss struct{ total, anon, file, shmem int64 }

func readRSS(pid int) (rss, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return rss{}, err
	}
	defer f.Close()
	var r rss
	fields := map[string]*int64{"VmRSS:": &r.total, "RssAnon:": &r.anon, "RssFile:": &r.file, "RssShmem:": &r.shmem}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		for name, dst := range fields {
			if v, ok := strings.CutPrefix(sc.Text(), name); ok {
				kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				if err != nil {
					return rss{}, err
				}
				*dst = kb << 10
			}
		}
	}
	if r.total == 0 {
		return rss{}, fmt.Errorf("no VmRSS for %d", pid)
	}
	return r, nil
}

// TestMemoryUnderSteadyCreates drives `sluice serve` with token creations at a fixed rate over
// 127.0.0.1 (SLUICE_MEMORY_RATE per second, default 1000, for SLUICE_MEMORY_SECONDS, default 60,
// from SLUICE_MEMORY_WRITERS, default 32) and samples its RSS from /proc every 100 ms: the peak must stay under
// SLUICE_MEMORY_LIMIT_MB (default 256), across Badger's memtable flushes and compactions. It
// takes a minute of a CPU, so it runs only with SLUICE_MEMORY_TEST=1; BENCHMARKS.md has the
// numbers.
func TestMemoryUnderSteadyCreates(t *testing.T) {
	if os.Getenv("SLUICE_MEMORY_TEST") != "1" {
		t.Skip("set SLUICE_MEMORY_TEST=1 to measure RSS under 1,000 creates/s for 60 s")
	}
	envInt := func(name string, def int) int {
		if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
			return n
		}
		return def
	}
	rate, seconds, limitMB := envInt("SLUICE_MEMORY_RATE", 1000), envInt("SLUICE_MEMORY_SECONDS", 60), envInt("SLUICE_MEMORY_LIMIT_MB", 256)
	writers := envInt("SLUICE_MEMORY_WRITERS", 32)
	dir := t.TempDir()
	if d := os.Getenv("SLUICE_MEMORY_DIR"); d != "" {
		dir = d
	}
	// The Go runtime's soft memory limit, as a deployment sets it (GOMEMLIMIT; see RATIONALE.md,
	// "Badger's memory"): the collector runs earlier instead of letting garbage double the heap.
	memLimit := os.Getenv("SLUICE_MEMORY_GOMEMLIMIT")
	if memLimit == "" {
		memLimit = "160MiB"
	}
	p := start(t, []string{masterEnv(8), "SLUICE_ADMIN_KEY=" + adminKey, "SLUICE_DATA_DIR=" + dir, "GOMEMLIMIT=" + memLimit})
	pid := p.cmd.Process.Pid

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	jobs := make(chan int, rate)
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				body, _ := json.Marshal(map[string]any{"type": "token", "data": fmt.Sprintf("value-%09d-%s", i, strings.Repeat("x", 100)),
					"metadata": map[string]string{"n": strconv.Itoa(i)}})
				req, _ := http.NewRequest("POST", "http://"+p.addr+"/tokens", bytes.NewReader(body))
				req.Header.Set("BT-API-KEY", adminKey)
				req.Header.Set("Content-Type", "application/json")
				res, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == 201 {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
			}
		}()
	}
	var mu sync.Mutex
	var peak, last rss
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if r, err := readRSS(pid); err == nil {
					mu.Lock()
					last = r
					if r.total > peak.total {
						peak = r
					}
					mu.Unlock()
				}
			}
		}
	}()
	begin := time.Now()
	idle, _ := readRSS(pid)
	// 1/100 of the rate every 10 ms; a writer that falls behind shows as a lower achieved rate.
	tick := time.NewTicker(10 * time.Millisecond)
	n := 0
	for time.Since(begin) < time.Duration(seconds)*time.Second {
		<-tick.C
		for k := 0; k < rate/100; k++ {
			select {
			case jobs <- n:
				n++
			default: // the writers are behind: not sent, counted below
			}
		}
	}
	tick.Stop()
	close(jobs)
	wg.Wait()
	elapsed := time.Since(begin)
	close(stop)
	<-sampled
	achieved := float64(ok.Load()) / elapsed.Seconds()
	t.Logf("GOMEMLIMIT=%s, rate %d/s for %v: %d created (%.0f/s), %d failed; RSS MiB (total anon file shmem): idle %s, peak %s, end %s",
		memLimit, rate, elapsed.Round(time.Second), ok.Load(), achieved, failed.Load(), idle, peak, last)
	if failed.Load() > 0 {
		t.Fatalf("%d creates failed", failed.Load())
	}
	if achieved < 0.85*float64(rate) {
		t.Fatalf("only %.0f creates/s: the machine could not drive the rate, the measurement does not count", achieved)
	}
	if peak.total > int64(limitMB)<<20 {
		t.Fatalf("RSS peaked at %d MiB, above %d MiB", peak.total>>20, limitMB)
	}
}

func (r rss) String() string {
	return fmt.Sprintf("%d %d %d %d", r.total>>20, r.anon>>20, r.file>>20, r.shmem>>20)
}
