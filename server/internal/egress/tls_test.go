package egress

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testPKI makes a CA and a leaf for dest.example.com signed by it.
func testPKI(t *testing.T) (caPEM []byte, leaf tls.Certificate) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sluice egress test ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "dest.example.com"},
		DNSNames:     []string{"dest.example.com"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	return caPEM, tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}
}

func writeFile(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// tlsServer serves TLS with cfg on loopback and reports handshake results.
func tlsServer(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp4", "127.0.0.1:0", cfg)
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
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				if c.(*tls.Conn).Handshake() == nil {
					_, _ = c.Write([]byte("ok"))
				}
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).AddrPort().String()
}

// TestTLSConfig: end to end over loopback, through the Dialer, with a
// real TLS server whose certificate chains to the extra CA only.
func TestTLSConfig(t *testing.T) {
	caPEM, leaf := testPKI(t)
	caFile := writeFile(t, caPEM)
	modern := tlsServer(t, &tls.Config{Certificates: []tls.Certificate{leaf}})
	legacy := tlsServer(t, &tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})

	withCA, err := TLSConfig(caFile)
	if err != nil {
		t.Fatal(err)
	}
	if withCA.MinVersion != tls.VersionTLS12 {
		t.Fatalf("MinVersion = %x", withCA.MinVersion)
	}
	systemOnly, err := TLSConfig("")
	if err != nil {
		t.Fatal(err)
	}
	if systemOnly.MinVersion != tls.VersionTLS12 {
		t.Fatalf("MinVersion = %x", systemOnly.MinVersion)
	}

	d := &Dialer{Policy: Policy{AllowPrivate: true}, Resolver: staticResolver("127.0.0.1")}
	handshake := func(server string, cfg *tls.Config) error {
		port := server[strings.LastIndexByte(server, ':')+1:]
		raw, err := d.DialContext(context.Background(), "tcp", "dest.example.com:"+port)
		if err != nil {
			t.Fatal(err)
		}
		cfg = cfg.Clone()
		cfg.ServerName = "dest.example.com"
		c := tls.Client(raw, cfg)
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if err := c.Handshake(); err != nil {
			return err
		}
		buf := make([]byte, 2)
		if _, err := c.Read(buf); err != nil || string(buf) != "ok" {
			return errors.New("no greeting")
		}
		return nil
	}
	t.Run("extra CA trusted", func(t *testing.T) {
		if err := handshake(modern, withCA); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("system roots alone do not trust it", func(t *testing.T) {
		var ua x509.UnknownAuthorityError
		if err := handshake(modern, systemOnly); !errors.As(err, &ua) {
			t.Fatalf("handshake error %v, want unknown authority", err)
		}
	})
	t.Run("tls 1.1 server refused", func(t *testing.T) {
		err := handshake(legacy, withCA)
		if err == nil || !strings.Contains(err.Error(), "protocol version") {
			t.Fatalf("handshake with a TLS 1.1 server: %v, want a protocol version error", err)
		}
	})
}

func TestTLSConfigBadCAFile(t *testing.T) {
	caPEM, _ := testPKI(t)
	keyPEM := []byte("-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n")
	tests := []struct {
		name string
		path string
	}{
		{"missing", filepath.Join(t.TempDir(), "nope.pem")},
		{"empty", writeFile(t, nil)},
		{"not pem", writeFile(t, []byte("hello"))},
		{"key only", writeFile(t, keyPEM)},
		{"garbage certificate", writeFile(t, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("c2VjcmV0")}))},
		{"good then garbage", writeFile(t, append(append([]byte{}, caPEM...),
			pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0x03, 1, 2, 3}})...))},
		{"directory", t.TempDir()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := TLSConfig(tt.path); err == nil {
				t.Fatal("accepted")
			} else if !strings.HasPrefix(err.Error(), "egress: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			} else if strings.Contains(err.Error(), "c2VjcmV0") || strings.Contains(err.Error(), "PRIVATE") {
				t.Fatalf("error leaks file content: %v", err)
			}
		})
	}
	t.Run("key blocks are skipped next to a certificate", func(t *testing.T) {
		if _, err := TLSConfig(writeFile(t, append(append([]byte{}, keyPEM...), caPEM...))); err != nil {
			t.Fatal(err)
		}
	})
}
