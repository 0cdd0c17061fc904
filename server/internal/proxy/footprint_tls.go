package proxy

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/server/internal/edge"
)

// Mutual TLS and certificate pinning for one vault-proxy request (SPEC §9): the caller's client
// certificate and key, and a pinned destination certificate, come in x-fp-proxy-* headers as PEM.
// Such a request gets a connection of its own, closed after it: a pooled connection was opened
// without that certificate or that check, and a connection that presented a caller's certificate
// must never carry another caller's request.

const (
	fpClientCert = "x-fp-proxy-client-cert"
	fpClientKey  = "x-fp-proxy-client-key"
	fpPinCert    = "x-fp-proxy-pin-cert"

	maxPEMHeader = 16 << 10 // a certificate chain or key in one header value
	maxPEMBlocks = 8
)

var errTLSNeedsHTTPS = edge.Invalid(fpClientCert, "mutual TLS and pinning need an https destination")

// errPinMismatch fails a handshake whose leaf certificate is not the pinned one.
var errPinMismatch = errors.New("proxy: the destination's certificate is not the pinned one")

// pemBlock is one decoded "-----BEGIN <typ>-----" block.
type pemBlock struct {
	typ string
	der []byte
}

// parsePEMHeader decodes the PEM blocks of a header value. A header cannot hold line breaks, so
// they may be written as the two characters \n, as spaces, or the whole PEM may be base64'd;
// inside a block only the base64 text counts. Untrusted input: bounded in size and blocks, and
// errors never quote the value (it may be a private key).
func parsePEMHeader(v []byte) ([]pemBlock, error) {
	if len(v) > maxPEMHeader {
		return nil, errors.New("larger than 16 KB")
	}
	s := strings.ReplaceAll(string(v), `\n`, "\n")
	if !strings.Contains(s, "-----BEGIN ") {
		dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
		if err != nil {
			return nil, errors.New("not PEM")
		}
		s = string(dec)
	}
	var out []pemBlock
	for {
		i := strings.Index(s, "-----BEGIN ")
		if i < 0 {
			break
		}
		s = s[i+len("-----BEGIN "):]
		typ, rest, ok := strings.Cut(s, "-----")
		if !ok || typ == "" || len(typ) > 64 {
			return nil, errors.New("malformed PEM header line")
		}
		body, after, ok := strings.Cut(rest, "-----END "+typ+"-----")
		if !ok {
			return nil, errors.New("a PEM block has no matching END line")
		}
		der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(body), ""))
		if err != nil || len(der) == 0 {
			return nil, errors.New("a PEM block is not base64")
		}
		if len(out) == maxPEMBlocks {
			return nil, errors.New("more than 8 PEM blocks")
		}
		out = append(out, pemBlock{typ: typ, der: der})
		s = after
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM block")
	}
	return out, nil
}

// encodePEM re-encodes blocks as standard PEM (for tls.X509KeyPair).
func encodePEM(blocks []pemBlock) []byte {
	var b bytes.Buffer
	for _, bl := range blocks {
		pem.Encode(&b, &pem.Block{Type: bl.typ, Bytes: bl.der})
	}
	return b.Bytes()
}

// destinationTLS reads the mutual TLS and pinning headers into a TLS configuration derived from
// base, or nil when the request has none.
func destinationTLS(h *fasthttp.RequestHeader, base *tls.Config) (*tls.Config, error) {
	certV, keyV, pinV := h.Peek(fpClientCert), h.Peek(fpClientKey), h.Peek(fpPinCert)
	if len(certV) == 0 && len(keyV) == 0 && len(pinV) == 0 {
		return nil, nil
	}
	conf := base.Clone()
	if conf == nil {
		conf = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if len(certV) > 0 || len(keyV) > 0 {
		cert, err := clientCertificate(certV, keyV)
		if err != nil {
			return nil, err
		}
		conf = withClientCertificate(conf, cert)
	}
	if len(pinV) > 0 {
		pin, err := pinnedCertificate(pinV)
		if err != nil {
			return nil, err
		}
		pinTo(conf, pin)
	}
	return conf, nil
}

// ParseClientCertificate checks a proxy's client_certificate: PEM certificate blocks (the leaf
// first) and one private key that matches the leaf.
func ParseClientCertificate(text string) (*tls.Certificate, error) {
	blocks, err := parsePEMHeader([]byte(text))
	if err != nil {
		return nil, edge.Invalid("client_certificate", "must be PEM: "+err.Error())
	}
	var certs, keys []pemBlock
	for _, b := range blocks {
		if b.typ == "CERTIFICATE" {
			certs = append(certs, b)
		} else if strings.HasSuffix(b.typ, "PRIVATE KEY") {
			keys = append(keys, b)
		}
	}
	if len(certs) == 0 || len(keys) != 1 {
		return nil, edge.Invalid("client_certificate", "must hold a PEM certificate and its private key")
	}
	keyPEM := encodePEM(keys)
	defer clear(keyPEM)
	cert, err := tls.X509KeyPair(encodePEM(certs), keyPEM)
	if err != nil {
		return nil, edge.Invalid("client_certificate", "the certificate and private key do not parse or do not match")
	}
	return &cert, nil
}

// ClientCertificateView is what the API shows of a proxy's client_certificate: its certificate
// blocks, never the key.
func (p *Definition) ClientCertificateView() string {
	blocks, err := parsePEMHeader([]byte(p.ClientCertificate))
	if err != nil {
		return ""
	}
	var certs []pemBlock
	for _, b := range blocks {
		if b.typ == "CERTIFICATE" {
			certs = append(certs, b)
		}
	}
	return string(encodePEM(certs))
}

// withClientCertificate is base (cloned) presenting cert.
func withClientCertificate(base *tls.Config, cert *tls.Certificate) *tls.Config {
	conf := base.Clone()
	if conf == nil {
		conf = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	conf.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	return conf
}

// clientCertificate pairs the caller's certificate (chain) and private key.
func clientCertificate(certV, keyV []byte) (*tls.Certificate, error) {
	if len(certV) == 0 || len(keyV) == 0 {
		return nil, edge.Invalid(fpClientCert, "x-fp-proxy-client-cert and x-fp-proxy-client-key go together")
	}
	certs, err := parsePEMHeader(certV)
	if err != nil {
		return nil, edge.Invalid(fpClientCert, "must be a PEM certificate: "+err.Error())
	}
	keys, err := parsePEMHeader(keyV)
	if err != nil {
		return nil, edge.Invalid(fpClientKey, "must be a PEM private key: "+err.Error())
	}
	keyPEM := encodePEM(keys)
	defer clear(keyPEM)
	cert, err := tls.X509KeyPair(encodePEM(certs), keyPEM)
	if err != nil {
		// tls's message names no key material, but stays out of the answer all the same.
		return nil, edge.Invalid(fpClientKey, "the certificate and private key do not parse or do not match")
	}
	return &cert, nil
}

// pinnedCertificate is the certificate of x-fp-proxy-pin-cert (its first block).
func pinnedCertificate(v []byte) (*x509.Certificate, error) {
	blocks, err := parsePEMHeader(v)
	if err != nil {
		return nil, edge.Invalid(fpPinCert, "must be a PEM certificate: "+err.Error())
	}
	if blocks[0].typ != "CERTIFICATE" {
		return nil, edge.Invalid(fpPinCert, "must be a PEM certificate")
	}
	cert, err := x509.ParseCertificate(blocks[0].der)
	if err != nil {
		return nil, edge.Invalid(fpPinCert, "the certificate does not parse")
	}
	return cert, nil
}

// pinTo makes conf accept exactly one leaf certificate, for the name dialled: the pin replaces
// the chain check (a pinned certificate may be self-signed), and the handshake proves the
// destination holds its key. Nothing is sent over a connection that fails it.
func pinTo(conf *tls.Config, pin *x509.Certificate) {
	conf.InsecureSkipVerify = true // the chain is not checked: VerifyConnection checks the pin
	conf.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 || !bytes.Equal(cs.PeerCertificates[0].Raw, pin.Raw) {
			return errPinMismatch
		}
		if err := pin.VerifyHostname(cs.ServerName); err != nil {
			return errPinMismatch
		}
		return nil
	}
}

// sender sends a destination request: the shared client, or a one-off HostClient.
type sender interface {
	Do(req *fasthttp.Request, resp *fasthttp.Response) error
}

// clientFor is what sends x's request: the shared client, or for a request with its own TLS
// configuration a HostClient of its own (same dialer and settings; no pool, no cleaner
// goroutine) whose one connection closes after the request.
func (s *Pipeline) clientFor(x *exchange, req *fasthttp.Request) (sender, error) {
	if x.tls == nil && x.px != nil {
		x.tls = x.px.tls // its client_certificate, if it has one
	}
	if x.tls == nil {
		return s.client, nil
	}
	uri := req.URI()
	if !bytes.Equal(uri.Scheme(), []byte("https")) {
		return nil, errTLSNeedsHTTPS
	}
	req.SetConnectionClose()
	c := s.client
	return &fasthttp.HostClient{
		Addr:                          fasthttp.AddMissingPort(string(uri.Host()), true),
		IsTLS:                         true,
		TLSConfig:                     x.tls,
		Dial:                          c.Dial,
		DialTimeout:                   c.DialTimeout,
		NoDefaultUserAgentHeader:      c.NoDefaultUserAgentHeader,
		DisablePathNormalizing:        c.DisablePathNormalizing,
		DisableHeaderNamesNormalizing: c.DisableHeaderNamesNormalizing,
		StreamResponseBody:            c.StreamResponseBody,
		ReadBufferSize:                c.ReadBufferSize,
		MaxConns:                      1,
		MaxIdemponentCallAttempts:     1,
	}, nil
}
