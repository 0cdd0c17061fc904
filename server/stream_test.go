package server

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// rssBytes reads this process's resident set size.
func rssBytes() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// peakRSS samples RSS until stop is closed and returns the highest value seen.
func peakRSS(stop chan struct{}) *atomic.Int64 {
	var peak atomic.Int64
	go func() {
		for {
			if r := rssBytes(); r > peak.Load() {
				peak.Store(r)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return &peak
}

// patternReader yields n bytes of a body made of chunk repeated.
type patternReader struct {
	left  int64
	chunk []byte
	off   int
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.left <= 0 {
		return 0, io.EOF
	}
	n := 0
	for n < len(b) && p.left > 0 {
		k := copy(b[n:], p.chunk[p.off:])
		if int64(k) > p.left {
			k = int(p.left)
		}
		n += k
		p.left -= int64(k)
		p.off = (p.off + k) % len(p.chunk)
	}
	return n, nil
}

// TestStream100MB: a 100 MB request (with expressions, detokenized on the fly) and a 100 MB
// response pass through the edge with resident memory growing by less than 64 MB.
func TestStream100MB(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 200 MB")
	}
	if raceEnabled {
		t.Skip("the race detector's shadow memory makes RSS meaningless here")
	}
	dest := startDestination(t)
	// The destination answers once the whole body is in: 100 MB take longer than proxyEdge's 5 s
	// on a loaded VM.
	e := proxyEdge(t, dest, func(c *Config) { c.Timeouts.Destination = time.Minute })
	id := e.token(e.adminKey, map[string]any{"data": "streamed-secret"})
	const size = 100 << 20
	// An expression every 128 KiB: 800 in all, within the expressions-per-body limit.
	chunk := []byte(strings.Repeat("x", 128<<10-len(id)-6) + "{{ " + id + " }}")

	runtime.GC()
	debug.FreeOSMemory()
	base := rssBytes()
	stop := make(chan struct{})
	peak := peakRSS(stop)

	req, _ := http.NewRequest("POST", e.base+"/proxy/count", &patternReader{left: size, chunk: chunk})
	req.ContentLength = size
	req.Header.Set("BT-API-KEY", e.adminKey)
	req.Header.Set("BT-PROXY-URL", dest.url)
	req.Header.Set("Content-Type", "text/plain")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("upload: %d %s", res.StatusCode, body)
	}
	// Each chunk's expression ("{{ id }}", len(id)+6 bytes) became the 15-byte secret.
	chunks := size / len(chunk)
	tail := size % len(chunk)
	want := int64(chunks)*int64(len(chunk)-len(id)-6+len("streamed-secret")) + int64(tail)
	if got, _ := strconv.ParseInt(string(body), 10, 64); got != want {
		t.Fatalf("destination counted %s bytes, want %d", body, want)
	}

	req, _ = http.NewRequest("GET", e.base+"/proxy/big/"+strconv.Itoa(size), nil)
	req.Header.Set("BT-API-KEY", e.adminKey)
	req.Header.Set("BT-PROXY-URL", dest.url)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err != nil || n != size || res.StatusCode != 200 {
		t.Fatalf("download: %d bytes, %v, %d", n, err, res.StatusCode)
	}
	close(stop)
	growth := peak.Load() - base
	t.Logf("RSS base %d MB, peak growth %d MB", base>>20, growth>>20)
	if growth > 64<<20 {
		t.Fatalf("RSS grew by %d MB moving 200 MB", growth>>20)
	}
}
