package server

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestConcurrentProxiedBodiesNeverMix: callers proxying bodies at once, of lengths from a few
// bytes to past fasthttp's read-ahead and up to the 64 KiB the pooled exchanges keep, each get
// back, and each have forwarded, exactly their own body — never a byte of another caller's from
// a pooled buffer (a body sent as a view of its exchange's buffer must not outlive it, and a
// shorter body must not carry a longer one's tail).
func TestConcurrentProxiedBodiesNeverMix(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	const callers, each = 6, 20
	sizes := []int{64 << 10, 7, 9 << 10, 1000, 40 << 10, 8<<10 + 1, 3, 20 << 10}
	client := &http.Client{Timeout: 30 * time.Second}
	var wg sync.WaitGroup
	errs := make(chan error, callers*each)
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				mark := fmt.Sprintf("<c%d r%02d>", c, i)
				n := sizes[(c+i)%len(sizes)]
				body := bytes.Repeat([]byte(mark), n/len(mark)+1)[:n]
				req, _ := http.NewRequest("POST", e.base+"/proxy/echo", bytes.NewReader(body))
				req.Header.Set("BT-API-KEY", e.adminKey)
				req.Header.Set("BT-PROXY-URL", dest.url)
				req.Header.Set("Content-Type", "application/octet-stream")
				res, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				got, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 200 || !bytes.Equal(got, body) {
					errs <- fmt.Errorf("%s (%d bytes): answered %d with %d bytes, %q…", mark, n, res.StatusCode, len(got), got[:min(len(got), 40)])
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got := dest.requests()
	if len(got) != callers*each {
		t.Fatalf("%d requests reached the destination, want %d", len(got), callers*each)
	}
	for _, r := range got {
		// Each body is one caller's mark repeated: the first mark names the only one allowed.
		end := bytes.IndexByte(r.body, '>') + 1
		if end == 0 && len(r.body) > 0 {
			end = len(r.body)
		}
		if len(r.body) > end && end > 0 {
			mark := r.body[:end]
			want := bytes.Repeat(mark, len(r.body)/len(mark)+1)[:len(r.body)]
			if !bytes.Equal(r.body, want) {
				t.Fatalf("the destination got a body of %d bytes mixing callers: starts %q", len(r.body), r.body[:min(len(r.body), 60)])
			}
		}
	}
}
