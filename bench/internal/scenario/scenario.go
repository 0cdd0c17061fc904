// Package scenario defines the proxy workloads every Sluice benchmark measures — no tokens,
// five tokens, five tokens and a WebAssembly transform (a tiny hand-written guest, a standard Go
// guest), one BT-ENCRYPTED token — and provisions them through Sluice's API.
package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/sluice-edge/sluice/bench/internal/fixture"
	"github.com/sluice-edge/sluice/bench/internal/jwegen"
	"github.com/sluice-edge/sluice/bench/internal/loadgen"
)

// Paths on the proxy. The destination answers ChargePath cheaply and echoes EchoPath.
const (
	ChargePath = "/proxy/charge"
	EchoPath   = "/proxy/echo"
)

// Scenario keys, in the order Setup returns them.
const (
	Tokens0   = "tokens=0"
	Tokens5   = "tokens=5"
	Wasm      = "tokens=5+wasm"
	GoGuest   = "tokens=5+goguest"
	Encrypted = "encrypted"
)

// encryptedRing is how many distinct BT-ENCRYPTED values the encrypted scenario cycles through.
const encryptedRing = 16

// Scenario is one workload. Requests go unchanged to Sluice and to the baseline proxies.
type Scenario struct {
	Key      string            // short name for benchmark and flag use, e.g. "tokens=5"
	Name     string            // for tables, e.g. "5 tokens, 1 KB JSON"
	Requests []loadgen.Request // nil when NA
	NA       string            // why the scenario is not available in this build, or ""
	want     []expect          // what the destination must see through Sluice (echo check)
}

// expect is something the destination must see; label names it in errors without showing it.
type expect struct {
	b     []byte
	label string
}

// Modules are the WebAssembly request transforms of the wasm scenarios; a nil one makes its
// scenario n/a.
type Modules struct {
	Tiny    []byte // transforms/testdata/tiny.wasm: adds x-tiny: 1
	GoGuest []byte // bench/testdata/goguest built for wasip1: adds X-Go-Guest: 1
}

// Setup provisions the scenarios in a fresh Sluice reached through c: five card_number tokens,
// an X25519 key, a proxy to destBase (e.g. "http://127.0.0.1:9000") and, for each module Sluice
// accepts, a proxy running it as a request transform. It returns the five scenarios in the
// order of the keys above; one that Sluice cannot run has NA set. The modules are only read.
func Setup(c *Client, destBase string, m Modules) ([]Scenario, error) {
	ids := make([]string, len(fixture.PANs))
	for i, pan := range fixture.PANs {
		id, err := c.CreateToken("card_number", pan)
		if err != nil {
			return nil, err
		}
		ids[i] = id
	}
	plainKey, err := c.CreateProxy(map[string]any{"name": "bench", "destination_url": destBase})
	if err != nil {
		return nil, err
	}
	exprs := fixture.TokenExprs(ids)
	body0, err := fixture.Body(fixture.BodySize, fixture.Fillers(exprs)...)
	if err != nil {
		return nil, err
	}
	body5, err := fixture.Body(fixture.BodySize, exprs...)
	if err != nil {
		return nil, err
	}
	pans := make([]expect, len(fixture.PANs))
	for i, p := range fixture.PANs {
		pans[i] = expect{[]byte(`"` + p + `"`), fmt.Sprintf("card number %d as a JSON string", i+1)}
	}
	out := []Scenario{
		{Key: Tokens0, Name: "0 tokens, 1 KB JSON",
			Requests: []loadgen.Request{post(plainKey, c.adminKey, body0)}, want: []expect{{body0, "the body, unchanged"}}},
		{Key: Tokens5, Name: "5 tokens, 1 KB JSON",
			Requests: []loadgen.Request{post(plainKey, c.adminKey, body5)}, want: pans},
	}

	for _, t := range []struct {
		key, name, header string
		wasm              []byte
	}{
		{Wasm, "5 tokens + tiny wasm request transform", "x-tiny: 1", m.Tiny},
		{GoGuest, "5 tokens + Go-SDK guest request transform", "x-go-guest: 1", m.GoGuest},
	} {
		w := Scenario{Key: t.key, Name: t.name}
		if wasmKey, why := wasmProxy(c, t.key, destBase, t.wasm); why != "" {
			w.NA = why
		} else {
			w.Requests = []loadgen.Request{post(wasmKey, c.adminKey, body5)}
			w.want = append(append([]expect{}, pans...), expect{[]byte(t.header), "the header the transform adds (" + t.header + ")"})
		}
		out = append(out, w)
	}

	e := Scenario{Key: Encrypted, Name: "1 BT-ENCRYPTED token (X25519)",
		want: pans[:1]}
	kid, pem, err := c.CreateKey()
	if err != nil {
		return nil, err
	}
	bodyE, err := fixture.Body(fixture.BodySize, fixture.EncryptedExpr)
	if err != nil {
		return nil, err
	}
	for range encryptedRing {
		compact, err := jwegen.Encrypt(pem, jwegen.AlgECDHES, kid, []byte(`"`+fixture.PANs[0]+`"`))
		if err != nil {
			return nil, err
		}
		r := post(plainKey, c.adminKey, bodyE)
		r.Header = append(r.Header, [2]string{"BT-ENCRYPTED", jwegen.BTEncrypted("card_number", compact)})
		e.Requests = append(e.Requests, r)
	}
	return append(out, e), nil
}

// wasmProxy uploads wasm and creates a proxy that runs it; on refusal it returns why.
func wasmProxy(c *Client, name, destBase string, wasm []byte) (key, why string) {
	if len(wasm) == 0 {
		return "", "no wasm module given"
	}
	id, err := c.UploadTransform(wasm)
	if err != nil {
		return "", "Sluice refused the module: " + err.Error()
	}
	key, err = c.CreateProxy(map[string]any{"name": "bench-" + strings.NewReplacer("=", "-", "+", "-").Replace(name), "destination_url": destBase,
		"request_transforms": []map[string]any{{"type": "wasm", "module_id": id}}})
	if err != nil {
		return "", "Sluice refused a proxy with a wasm transform: " + err.Error()
	}
	return key, ""
}

func post(proxyKey, apiKey string, body []byte) loadgen.Request {
	return loadgen.Request{Method: "POST", URI: ChargePath, Body: body, Header: [][2]string{
		{"Content-Type", "application/json"}, {"BT-API-KEY", apiKey}, {"BT-PROXY-KEY", proxyKey}}}
}

// Echo returns s's first request sent to EchoPath instead of ChargePath.
func (s *Scenario) Echo() loadgen.Request {
	r := s.Requests[0]
	r.URI = EchoPath
	return r
}

// ErrCheck is wrapped by Check's failures.
var ErrCheck = errors.New("scenario: the destination did not get the expected request")

// Check verifies the destination's echo of s.Echo() sent through Sluice: every value that
// should have been put in is there and no expression is left. The error names what is missing,
// never the echo itself (it holds card numbers).
func (s *Scenario) Check(echo []byte) error {
	lower := bytes.ToLower(echo)
	for _, w := range s.want {
		if !bytes.Contains(echo, w.b) && !bytes.Contains(lower, w.b) {
			return fmt.Errorf("%w (%s): %s is missing", ErrCheck, s.Key, w.label)
		}
	}
	if bytes.Contains(echo, []byte("{{")) {
		return fmt.Errorf("%w (%s): an expression was forwarded unresolved", ErrCheck, s.Key)
	}
	return nil
}

// ByKey returns the scenario with key, or nil.
func ByKey(ss []Scenario, key string) *Scenario {
	for i := range ss {
		if strings.EqualFold(ss[i].Key, key) {
			return &ss[i]
		}
	}
	return nil
}
