package scenario

import (
	"encoding/json"
	"fmt"
	"net"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/bench/internal/loadgen"
)

// Client talks to one HTTP target: Sluice's API with the admin key, or any target through Send.
// It is safe for concurrent use.
type Client struct {
	hc       *fasthttp.HostClient
	adminKey string
}

// NewClient returns a Client of the target at addr ("host:port"). dial, if not nil, replaces TCP.
func NewClient(addr, adminKey string, dial fasthttp.DialFunc) *Client {
	hc := &fasthttp.HostClient{Addr: addr, Dial: dial, NoDefaultUserAgentHeader: true, ReadBufferSize: 16 << 10,
		MaxIdemponentCallAttempts: 1}
	if dial == nil {
		d := &net.Dialer{Timeout: 5 * time.Second}
		hc.Dial = func(a string) (net.Conn, error) { return d.Dial("tcp", a) }
	}
	return &Client{hc: hc, adminKey: adminKey}
}

// APIError is an answer with an unexpected status. Title and Detail come from the RFC 7807
// body when there is one; they never hold token data (Sluice's errors do not).
type APIError struct {
	Op     string
	Status int
	Title  string
	Detail string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("scenario: %s: status %d", e.Op, e.Status)
	if e.Title != "" || e.Detail != "" {
		s += ": " + e.Title + ": " + e.Detail
	}
	return s
}

// Send sends r to the target and returns the status and a copy of the body.
func (c *Client) Send(r loadgen.Request) (int, []byte, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + c.hc.Addr + r.URI)
	req.Header.SetMethod(r.Method)
	for _, h := range r.Header {
		req.Header.Set(h[0], h[1])
	}
	req.SetBody(r.Body)
	if err := c.hc.DoTimeout(req, resp, 30*time.Second); err != nil {
		return 0, nil, fmt.Errorf("scenario: %s %s: %w", r.Method, r.URI, err)
	}
	return resp.StatusCode(), append([]byte(nil), resp.Body()...), nil
}

// api calls the API with the admin key, expects status want and decodes the answer into out.
func (c *Client) api(method, uri, contentType string, body []byte, want int, out any) error {
	status, b, err := c.Send(loadgen.Request{Method: method, URI: uri, Body: body,
		Header: [][2]string{{"BT-API-KEY", c.adminKey}, {"Content-Type", contentType}}})
	if err != nil {
		return err
	}
	if status != want {
		e := &APIError{Op: method + " " + uri, Status: status}
		var p struct {
			Title, Detail string
			Errors        map[string][]string
		}
		if json.Unmarshal(b, &p) == nil {
			e.Title, e.Detail = p.Title, p.Detail
			for f, msgs := range p.Errors {
				e.Detail += fmt.Sprintf(" (%s: %v)", f, msgs)
			}
		}
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("scenario: %s %s: answer is not JSON: %w", method, uri, err)
	}
	return nil
}

func (c *Client) apiJSON(method, uri string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return c.api(method, uri, "application/json", b, 201, out)
}

// CreateToken vaults data as a token of type typ and returns its id.
func (c *Client) CreateToken(typ string, data any) (string, error) {
	var t struct{ ID string }
	err := c.apiJSON("POST", "/tokens", map[string]any{"type": typ, "data": data}, &t)
	return t.ID, err
}

// CreateKey makes an X25519 key for BT-ENCRYPTED and returns its key id and public key PEM.
func (c *Client) CreateKey() (kid, publicPEM string, err error) {
	var k struct {
		KeyID        string `json:"key_id"`
		PublicKeyPEM string `json:"public_key_pem"`
	}
	err = c.apiJSON("POST", "/keys", map[string]any{}, &k)
	return k.KeyID, k.PublicKeyPEM, err
}

// UploadTransform uploads a WebAssembly module and returns its id.
func (c *Client) UploadTransform(wasm []byte) (string, error) {
	var m struct{ ID string }
	err := c.api("POST", "/transforms", "application/wasm", wasm, 201, &m)
	return m.ID, err
}

// CreateProxy creates a pre-configured proxy from p (the POST /proxies body) and returns its key.
func (c *Client) CreateProxy(p map[string]any) (string, error) {
	var r struct{ Key string }
	err := c.apiJSON("POST", "/proxies", p, &r)
	return r.Key, err
}

// CloseIdleConnections closes the client's idle connections.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }
