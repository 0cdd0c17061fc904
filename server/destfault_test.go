package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// faultyDestination is a raw TCP server on 127.0.0.1 that reads one request and then runs
// misbehave on the connection. It speaks plain HTTP: the edge runs with --allow-http.
func faultyDestination(t *testing.T, misbehave func(c *net.TCPConn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				io.Copy(io.Discard, req.Body)
				misbehave(c.(*net.TCPConn))
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// reset closes c with a TCP reset instead of an orderly close.
func reset(c *net.TCPConn) {
	c.SetLinger(0)
	c.Close()
}

// faultEdge is an edge that may reach plain-HTTP loopback destinations, with a short
// destination timeout (time to the response headers) and body idle timeout.
func faultEdge(t *testing.T) *testEdge {
	return startEdge(t, func(c *Config) {
		c.AllowPrivateDestinations, c.AllowHTTPDestinations = true, true
		c.Timeouts.Destination = time.Second
		c.Timeouts.DestinationBodyIdle = time.Second
	})
}

// rawAnswer is what a caller saw: the status and headers, the body bytes that arrived, and
// whether the body ended cleanly.
type rawAnswer struct {
	status  int
	header  http.Header
	body    []byte
	bodyErr error
}

// callProxy sends one proxied request to dest and reads the answer as it comes.
func (e *testEdge) callProxy(dest string) rawAnswer {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.base+"/proxy", strings.NewReader("x"))
	req.Header.Set("BT-API-KEY", e.adminKey)
	req.Header.Set("BT-PROXY-URL", dest)
	req.Header.Set("X-Request-Id", "fault-"+strings.ReplaceAll(e.t.Name(), "/", "-"))
	cl := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := cl.Do(req)
	if err != nil {
		e.t.Fatalf("proxied request: %v", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return rawAnswer{res.StatusCode, res.Header, b, err}
}

// requestLog waits for the request line of the request callProxy sent and returns it.
func (e *testEdge) requestLog() map[string]any {
	e.t.Helper()
	id := "fault-" + strings.ReplaceAll(e.t.Name(), "/", "-")
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, line := range strings.Split(e.logText(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "request" && m["request_id"] == id {
				return m
			}
		}
	}
	e.t.Fatalf("no request line for %s:\n%s", id, e.logText())
	return nil
}

// TestDestinationResetMidBody: the destination answers 200 and part of its body, then resets the
// connection. The caller gets the status and the bytes that came, then a body that breaks off
// (declared length not reached / no last chunk) — never a clean answer; the log line says what
// was sent and why it ended.
func TestDestinationResetMidBody(t *testing.T) {
	t.Parallel()
	part := bytes.Repeat([]byte("a"), 1000)
	for _, tc := range []struct {
		name, head string
		body       []byte
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", part},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", append([]byte("3e8\r\n"), append(part, "\r\n"...)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dest := faultyDestination(t, func(c *net.TCPConn) {
				c.Write([]byte(tc.head))
				time.Sleep(50 * time.Millisecond) // headers and body apart, as a slow origin sends them
				c.Write(tc.body)
				time.Sleep(50 * time.Millisecond)
				reset(c)
			})
			e := faultEdge(t)
			got := e.callProxy(dest)
			if got.status != 200 || got.bodyErr == nil {
				t.Fatalf("caller saw %d, body error %v: a clean answer for a broken body", got.status, got.bodyErr)
			}
			if !bytes.Equal(got.body, part) {
				t.Fatalf("caller got %d body bytes, want the %d that came", len(got.body), len(part))
			}
			l := e.requestLog()
			if l["status"] != 200.0 || l["bytes"] != 1000.0 || l["error"] != "destination_reset" {
				t.Fatalf("log line: %v", l)
			}
		})
	}
}

// TestDestinationResetBeforeBody: headers, then a reset before any body byte. Nothing has reached
// the caller yet, so it gets a clean 502 proxy_error.
func TestDestinationResetBeforeBody(t *testing.T) {
	t.Parallel()
	dest := faultyDestination(t, func(c *net.TCPConn) {
		c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"))
		time.Sleep(50 * time.Millisecond)
		reset(c)
	})
	e := faultEdge(t)
	got := e.callProxy(dest)
	if got.status != 502 || got.bodyErr != nil || !strings.Contains(string(got.body), "proxy_error") {
		t.Fatalf("caller saw %d %q (%v)", got.status, got.body, got.bodyErr)
	}
	if l := e.requestLog(); l["status"] != 502.0 || l["error"] != "destination_reset" {
		t.Fatalf("log line: %v", l)
	}
}

// TestDestinationBodyStalls: headers in time, a byte, then nothing. The body idle timeout cuts
// the body visibly and the log says so.
func TestDestinationBodyStalls(t *testing.T) {
	t.Parallel()
	stop := make(chan struct{})
	defer close(stop)
	dest := faultyDestination(t, func(c *net.TCPConn) {
		c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"))
		time.Sleep(50 * time.Millisecond)
		c.Write([]byte("a"))
		<-stop
	})
	e := faultEdge(t)
	got := e.callProxy(dest)
	if got.status != 200 || got.bodyErr == nil || string(got.body) != "a" {
		t.Fatalf("caller saw %d %q (%v)", got.status, got.body, got.bodyErr)
	}
	if l := e.requestLog(); l["status"] != 200.0 || l["bytes"] != 1.0 || l["error"] != "destination_idle_timeout" {
		t.Fatalf("log line: %v", l)
	}
}

// TestDestinationHeadersTricklePastTimeout: the status line comes, then header bytes one by one,
// past the destination timeout: 408 proxy_error, not 502.
func TestDestinationHeadersTricklePastTimeout(t *testing.T) {
	t.Parallel()
	stop := make(chan struct{})
	defer close(stop)
	dest := faultyDestination(t, func(c *net.TCPConn) {
		c.Write([]byte("HTTP/1.1 200 OK\r\n"))
		for _, b := range []byte("X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := c.Write([]byte{b}); err != nil {
				return
			}
		}
	})
	e := faultEdge(t)
	got := e.callProxy(dest)
	if got.status != 408 || !strings.Contains(string(got.body), "proxy_error") {
		t.Fatalf("caller saw %d %q", got.status, got.body)
	}
	if l := e.requestLog(); l["status"] != 408.0 {
		t.Fatalf("log line: %v", l)
	}
}

// TestDestinationSlowSteadyBodyNotCapped: the body takes several times both the destination
// timeout and the body idle timeout to arrive but never pauses for long: it passes whole (no
// total cap on a body).
func TestDestinationSlowSteadyBodyNotCapped(t *testing.T) {
	t.Parallel()
	const pieces, size = 40, 1024
	dest := faultyDestination(t, func(c *net.TCPConn) {
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", pieces*size)
		for i := range pieces {
			time.Sleep(100 * time.Millisecond) // 4 s in all; each pause far under the idle timeout
			if _, err := c.Write(bytes.Repeat([]byte{byte('a' + i%26)}, size)); err != nil {
				return
			}
		}
	})
	// An idle timeout of 2 s (not faultEdge's 1 s): a pause of 100 ms must not become one of a
	// second when a loaded machine stalls the destination or the edge for a moment.
	e := startEdge(t, func(c *Config) {
		c.AllowPrivateDestinations, c.AllowHTTPDestinations = true, true
		c.Timeouts.Destination, c.Timeouts.DestinationBodyIdle = time.Second, 2*time.Second
	})
	got := e.callProxy(dest)
	if got.status != 200 || got.bodyErr != nil || len(got.body) != pieces*size {
		t.Fatalf("caller saw %d, %d of %d bytes (%v)", got.status, len(got.body), pieces*size, got.bodyErr)
	}
	if l := e.requestLog(); l["status"] != 200.0 || l["bytes"] != float64(pieces*size) || l["error"] != nil {
		t.Fatalf("log line: %v", l)
	}
}

// TestCallerGoneMidBodyLogged: the caller goes away while a long body streams; the destination's
// connection is dropped and the log line says the caller closed, with what was sent by then.
func TestCallerGoneMidBodyLogged(t *testing.T) {
	t.Parallel()
	stop := make(chan struct{})
	defer close(stop)
	dest := faultyDestination(t, func(c *net.TCPConn) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n")
		piece := bytes.Repeat([]byte("a"), 4096)
		for range 2000 {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if _, err := c.Write(piece); err != nil {
				return // the edge dropped the connection
			}
		}
	})
	e := faultEdge(t)
	id := "fault-" + t.Name()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /proxy HTTP/1.1\r\nHost: x\r\nBT-API-KEY: %s\r\nBT-PROXY-URL: %s\r\nX-Request-Id: %s\r\nContent-Length: 1\r\n\r\nx", e.adminKey, dest, id)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("%v %v", res, err)
	}
	if _, err := io.ReadFull(res.Body, make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	conn.(*net.TCPConn).SetLinger(0)
	conn.Close()
	l := e.requestLog()
	if l["status"] != 200.0 || l["error"] != "caller_closed" || l["bytes"].(float64) < 4096 {
		t.Fatalf("log line: %v", l)
	}
}
