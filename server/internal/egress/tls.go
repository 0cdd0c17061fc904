package egress

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
)

// maxCAFileSize bounds the extra CA bundle read by TLSConfig.
const maxCAFileSize = 8 << 20

// TLSConfig returns a new client TLS configuration for destinations:
// TLS 1.2 or later, verifying against the system roots plus, if extraCAFile
// is not empty, every certificate in that PEM bundle. Blocks other than
// CERTIFICATE are ignored; a bundle with an unparsable certificate, or with
// none at all, is an error. The caller owns the returned config; it sets no
// ServerName, so one config can serve every destination (fasthttp fills it
// in per host).
func TLSConfig(extraCAFile string) (*tls.Config, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if extraCAFile != "" {
		if err := appendCAFile(pool, extraCAFile); err != nil {
			return nil, err
		}
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}, nil
}

func appendCAFile(pool *x509.CertPool, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("egress: destination ca file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCAFileSize+1))
	if err != nil {
		return fmt.Errorf("egress: destination ca file: %w", err)
	}
	if len(data) > maxCAFileSize {
		return fmt.Errorf("egress: destination ca file %q: larger than %d bytes", path, maxCAFileSize)
	}
	n := 0
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return fmt.Errorf("egress: destination ca file %q: certificate %d does not parse", path, n+1)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return fmt.Errorf("egress: destination ca file %q: no certificates", path)
	}
	return nil
}
