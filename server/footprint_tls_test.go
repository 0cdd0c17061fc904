package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testCA issues the certificates of the mutual TLS and pinning tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // the CA as a PEM file
}

var serial int64 = 100

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	file := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	return &testCA{cert: cert, key: key, file: file}
}

// issue makes a certificate for cn (a server one for localhost and 127.0.0.1, or a client one),
// signed by ca, or self-signed when ca is nil. It returns the PEM of both and the tls pair.
func issue(t *testing.T, ca *testCA, cn string, server bool) (certPEM, keyPEM []byte, pair tls.Certificate) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	n := atomic.AddInt64(&serial, 1)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(n), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if server {
		tpl.DNSNames, tpl.IPAddresses = []string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)}
		tpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	parent, signer := tpl, key
	if ca != nil {
		parent, signer = ca.cert, ca.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	pair, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, keyPEM, pair
}

// startMutualTLSDestination starts a TLS destination (its own server CA) that requires a client
// certificate signed by the client CA it returns.
func startMutualTLSDestination(t *testing.T) (*destination, *testCA) {
	t.Helper()
	serverCA, clientCA := newTestCA(t, "server CA"), newTestCA(t, "client CA")
	_, _, serverPair := issue(t, serverCA, "localhost", true)
	clientCAs := x509.NewCertPool()
	clientCAs.AddCert(clientCA.cert)
	return startTLSDestination(t, serverCA.file, serverPair, clientCAs), clientCA
}

// startTLSDestination is startDestination with the given server certificate and, when
// clientCAs is not nil, a required client certificate signed by one of them. A request records
// the client certificate's common name in its X-Test-Client-CN header.
func startTLSDestination(t *testing.T, caFile string, cert tls.Certificate, clientCAs *x509.CertPool) *destination {
	t.Helper()
	d := &destination{caFile: caFile}
	conf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientCAs != nil {
		conf.ClientAuth, conf.ClientCAs = tls.RequireAndVerifyClientCert, clientCAs
	}
	d.listenTLS(t, conf, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Del("X-Test-Client-CN")
		if len(r.TLS.PeerCertificates) > 0 {
			r.Header.Set("X-Test-Client-CN", r.TLS.PeerCertificates[0].Subject.CommonName)
		}
		d.serve(w, r)
	}))
	return d
}

// inHeader writes a PEM document as a header value can hold it: line breaks as the two
// characters \n.
func inHeader(p []byte) string { return strings.ReplaceAll(string(p), "\n", `\n`) }

// TestFootprintMutualTLSClientCertificate: x-fp-proxy-client-cert / -key (PEM) are presented to
// a destination that requires a client certificate; without them, or with a key that does not
// match, nothing reaches it. Sluice had no mutual TLS.
func TestFootprintMutualTLSClientCertificate(t *testing.T) {
	t.Parallel()
	dest, clientCA := startMutualTLSDestination(t)
	e := proxyEdge(t, dest)
	k := e.adminKey
	id := e.token(k, map[string]any{"data": map[string]any{"id.ssn9": "123456789"}})
	certPEM, keyPEM, _ := issue(t, clientCA, "sluice-client", false)
	_, otherKeyPEM, _ := issue(t, clientCA, "someone-else", false)
	strangerCert, strangerKey, _ := issue(t, nil, "stranger", false) // not signed by the client CA

	ok := []struct{ name, cert, key string }{
		{"escaped line breaks", inHeader(certPEM), inHeader(keyPEM)},
		{"base64 PEM", base64.StdEncoding.EncodeToString(certPEM), base64.StdEncoding.EncodeToString(keyPEM)},
		{"line breaks as spaces", strings.ReplaceAll(string(certPEM), "\n", " "), strings.ReplaceAll(string(keyPEM), "\n", " ")},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			dest.mu.Lock()
			conns := dest.conns
			dest.mu.Unlock()
			e.do("POST", "/vault_proxy/jit", k, `{"s":"{{ `+id+`.id.ssn9 }}"}`, "x-fp-proxy-target-url", dest.url+"/mtls",
				"x-fp-proxy-client-cert", tc.cert, "x-fp-proxy-client-key", tc.key).expect(t, 200)
			got := dest.last(t)
			if got.header.Get("X-Test-Client-CN") != "sluice-client" || string(got.body) != `{"s":"123456789"}` {
				t.Fatalf("destination saw client %q, body %s", got.header.Get("X-Test-Client-CN"), got.body)
			}
			dest.mu.Lock()
			fresh := dest.conns - conns
			dest.mu.Unlock()
			if fresh != 1 {
				t.Fatalf("%d new connections for a request with a client certificate, want its own one", fresh)
			}
		})
	}
	n := len(dest.requests())
	refused := []struct {
		name   string
		status int
		hdr    []string
	}{
		{"no client certificate", 502, nil},
		{"certificate of another CA", 502, []string{"x-fp-proxy-client-cert", inHeader(strangerCert), "x-fp-proxy-client-key", inHeader(strangerKey)}},
		{"key of another certificate", 400, []string{"x-fp-proxy-client-cert", inHeader(certPEM), "x-fp-proxy-client-key", inHeader(otherKeyPEM)}},
		{"certificate without key", 400, []string{"x-fp-proxy-client-cert", inHeader(certPEM)}},
		{"key that is not PEM", 400, []string{"x-fp-proxy-client-cert", inHeader(certPEM), "x-fp-proxy-client-key", "not a key"}},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			hdr := append([]string{"x-fp-proxy-target-url", dest.url + "/mtls"}, tc.hdr...)
			r := e.do("POST", "/vault_proxy/jit", k, `{"s":"{{ `+id+`.id.ssn9 }}"}`, hdr...)
			r.expectProblem(t, tc.status, true)
			if len(dest.requests()) != n {
				t.Fatal("a request reached the destination")
			}
			if strings.Contains(string(r.body), "PRIVATE KEY") || strings.Contains(string(r.body), "123456789") {
				t.Fatalf("the answer holds key material or plaintext: %s", r.body)
			}
		})
	}
	assertNoSecrets(t, e.logText(), "123456789", strings.Split(string(keyPEM), "\n")[1])
}

// TestFootprintPinnedCertificate: x-fp-proxy-pin-cert makes the handshake fail unless the
// destination's leaf is that certificate — even one the edge's roots trust — and then nothing is
// sent; the pin also admits a self-signed destination the roots do not trust.
func TestFootprintPinnedCertificate(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t, "server CA")
	leafPEM, _, leafPair := issue(t, ca, "localhost", true)
	otherPEM, _, _ := issue(t, ca, "localhost", true) // same CA and name, another key
	dest := startTLSDestination(t, ca.file, leafPair, nil)
	selfPEM, _, selfPair := issue(t, nil, "localhost", true)
	selfSigned := startTLSDestination(t, ca.file, selfPair, nil)
	e := proxyEdge(t, dest)
	k := e.adminKey
	id := e.token(k, map[string]any{"data": "secret-value"})
	body := `{"v":"{{ ` + id + ` }}"}`

	e.do("POST", "/vault_proxy/jit", k, body, "x-fp-proxy-target-url", dest.url+"/pinned", "x-fp-proxy-pin-cert", inHeader(leafPEM)).expect(t, 200)
	if got := dest.last(t); got.path != "/pinned" || string(got.body) != `{"v":"secret-value"}` {
		t.Fatalf("pinned request: %s %s", got.path, got.body)
	}
	e.do("POST", "/vault_proxy/jit", k, body, "x-fp-proxy-target-url", selfSigned.url, "x-fp-proxy-pin-cert", inHeader(selfPEM)).expect(t, 200)
	if len(selfSigned.requests()) != 1 {
		t.Fatal("the pinned self-signed destination was not reached")
	}

	refused := []struct {
		name   string
		d      *destination
		pin    string
		status int
	}{
		{"trusted certificate that is not the pin", dest, inHeader(otherPEM), 502},
		{"self-signed destination without a pin", selfSigned, "", 502},
		{"self-signed destination, another pin", selfSigned, inHeader(leafPEM), 502},
		{"pin that is not a certificate", dest, "-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----", 400},
		{"pin that is a key", dest, inHeader(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}})), 400},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			n := len(tc.d.requests())
			hdr := []string{"x-fp-proxy-target-url", tc.d.url + "/pinned"}
			if tc.pin != "" {
				hdr = append(hdr, "x-fp-proxy-pin-cert", tc.pin)
			}
			r := e.do("POST", "/vault_proxy/jit", k, body, hdr...)
			r.expectProblem(t, tc.status, true)
			if len(tc.d.requests()) != n {
				t.Fatal("a request was sent over a connection that failed the pin")
			}
			if strings.Contains(string(r.body), "secret-value") {
				t.Fatalf("plaintext in the answer: %s", r.body)
			}
		})
	}
	// A pinned request's connection is not the pool's: an unpinned request still works.
	e.do("POST", "/vault_proxy/jit", k, body, "x-fp-proxy-target-url", dest.url+"/after").expect(t, 200)
}

// TestProxyClientCertificateMutualTLS: a pre-configured proxy's client_certificate (PEM
// certificate and key) is presented to a destination that requires one, through /vault_proxy/{id}
// and /proxy; the API never shows the key, and a certificate without its key is refused.
func TestProxyClientCertificateMutualTLS(t *testing.T) {
	t.Parallel()
	dest, clientCA := startMutualTLSDestination(t)
	e := proxyEdge(t, dest)
	k := e.adminKey
	certPEM, keyPEM, _ := issue(t, clientCA, "configured-client", false)
	_, otherKey, _ := issue(t, clientCA, "other", false)
	keyLine := strings.Split(string(keyPEM), "\n")[1]

	for _, bad := range []string{string(certPEM), string(keyPEM), string(certPEM) + string(otherKey), "not pem"} {
		r := e.do("POST", "/proxies", k, map[string]any{"name": "m", "destination_url": dest.url, "client_certificate": bad})
		r.expectProblem(t, 400, false)
		if strings.Contains(string(r.body), "PRIVATE KEY") {
			t.Fatalf("the refusal quotes the key: %s", r.body)
		}
	}
	created := e.do("POST", "/proxies", k, map[string]any{"name": "m", "destination_url": dest.url + "/mtls",
		"client_certificate": string(certPEM) + string(keyPEM)}).expect(t, 201)
	px := created.json(t)
	for _, shown := range []*resp{created, e.do("GET", "/proxies/"+px["id"].(string), k, nil).expect(t, 200), e.do("GET", "/proxies", k, nil).expect(t, 200)} {
		if strings.Contains(string(shown.body), keyLine) || strings.Contains(string(shown.body), "PRIVATE KEY") {
			t.Fatalf("the API shows the client certificate's key: %s", shown.body)
		}
	}
	if px["client_certificate"] != string(certPEM) {
		t.Fatalf("client_certificate shown as %q", px["client_certificate"])
	}
	e.do("POST", "/vault_proxy/"+px["id"].(string), k, `{}`).expect(t, 200)
	if cn := dest.last(t).header.Get("X-Test-Client-CN"); cn != "configured-client" {
		t.Fatalf("destination saw client %q through /vault_proxy/{id}", cn)
	}
	e.do("POST", "/proxy", k, `{}`, "BT-PROXY-KEY", px["key"].(string)).expect(t, 200)
	if cn := dest.last(t).header.Get("X-Test-Client-CN"); cn != "configured-client" {
		t.Fatalf("destination saw client %q through /proxy", cn)
	}
	// A merge patch that leaves the certificate alone keeps it.
	e.do("PATCH", "/proxies/"+px["id"].(string), k, `{"name":"renamed"}`, "Content-Type", "application/merge-patch+json").expect(t, 200)
	e.do("POST", "/vault_proxy/"+px["id"].(string), k, `{}`).expect(t, 200)
	assertNoSecrets(t, e.logText(), keyLine)
}
