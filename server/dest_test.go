package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-edge/sluice/server/internal/edge"
)

// destination is a real TLS server on 127.0.0.1 that records what reaches it. Its certificate
// is signed by a test CA that the edge trusts through --destination-ca-file.
type destination struct {
	url    string // https://localhost:port
	caFile string
	srv    *http.Server
	mu     sync.Mutex
	got    []received
	conns  int
}

type received struct {
	method, path, query string
	header              http.Header
	body                []byte
	proto               string
}

func (d *destination) requests() []received {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]received(nil), d.got...)
}

func (d *destination) last(t *testing.T) received {
	t.Helper()
	r := d.requests()
	if len(r) == 0 {
		t.Fatal("nothing reached the destination")
	}
	return r[len(r)-1]
}

// startDestination serves:
//
//	/status/<code>  answers with that status
//	/slow           sleeps 3 s
//	/redirect       302 to /elsewhere
//	/json           answers the JSON in the request's X-Answer header (or {"ok":true})
//	/big/<n>        answers n bytes
//	anything else   echoes the body with the request's content type
func startDestination(t *testing.T) *destination {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sluice test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTpl, caTpl, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, _ := x509.CreateCertificate(rand.Reader, leafTpl, ca, &leafKey.PublicKey, caKey)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600)

	d := &destination{caFile: caFile}
	d.listenTLS(t, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}},
		MinVersion: tls.VersionTLS12}, http.HandlerFunc(d.serve))
	return d
}

// listenTLS serves handler over TLS with conf on a new 127.0.0.1 port (d.url names it as
// localhost), counts the connections it accepts, and stops when t ends.
func (d *destination) listenTLS(t *testing.T, conf *tls.Config, handler http.Handler) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d.url = "https://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	d.srv = &http.Server{Handler: handler, TLSConfig: conf,
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				d.mu.Lock()
				d.conns++
				d.mu.Unlock()
			}
		},
	}
	go d.srv.ServeTLS(ln, "", "")
	cleanup(t, func() { d.srv.Close() })
}

func (d *destination) serve(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/big/") {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/big/"))
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/octet-stream")
		buf := make([]byte, 64<<10)
		for n > 0 {
			k := min(n, len(buf))
			w.Write(buf[:k])
			n -= k
		}
		return
	}
	var body []byte
	if r.URL.Path == "/count" {
		n, _ := io.Copy(io.Discard, r.Body)
		body = []byte(strconv.FormatInt(n, 10))
	} else {
		body, _ = io.ReadAll(r.Body)
	}
	d.mu.Lock()
	d.got = append(d.got, received{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body, r.Proto})
	d.mu.Unlock()
	switch {
	case strings.HasPrefix(r.URL.Path, "/status/"):
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/status/"))
		w.Header().Set("X-Dest", "yes")
		w.WriteHeader(code)
		w.Write([]byte(`{"from":"destination"}`))
	case r.URL.Path == "/slow":
		time.Sleep(3 * time.Second)
		w.Write([]byte("late"))
	case r.URL.Path == "/redirect":
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	case r.URL.Path == "/json":
		ans := r.Header.Get("X-Answer")
		if ans == "" {
			ans = `{"ok":true}`
		}
		w.Header().Set("Content-Type", "application/json")
		if c := r.Header.Get("X-Status"); c != "" {
			code, _ := strconv.Atoi(c)
			w.WriteHeader(code)
		}
		w.Write([]byte(ans))
	case r.URL.Path == "/count":
		w.Write(body)
	case r.URL.Path == "/headers": // connection headers first, then a name that repeats
		h := w.Header()
		h.Add("Keep-Alive", "timeout=5")
		h.Add("Connection", "X-Hop")
		h.Add("X-Hop", "1")
		h.Add("Link", "<a>")
		h.Add("Link", "<b>")
		h.Add("Link", "<c>")
		h.Add(edge.HeaderDestinationStatus, "999")
		w.Write([]byte("ok"))
	default:
		w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
		w.Header().Set("X-Echo", "1")
		w.Write(body)
	}
}

// proxyEdge starts an edge that trusts dest's CA and may reach loopback.
func proxyEdge(t *testing.T, dest *destination, mod ...func(*Config)) *testEdge {
	return startEdge(t, append([]func(*Config){func(c *Config) {
		c.DestinationCAFile = dest.caFile
		c.AllowPrivateDestinations = true
		c.Timeouts.Destination = 5 * time.Second
	}}, mod...)...)
}
