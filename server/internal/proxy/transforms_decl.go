package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/internal/expr"
	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/server/internal/vault"
	"github.com/sluice-edge/sluice/store"
)

// message is the part of a request or response a transform may change.
type message struct {
	body     []byte
	req      *fasthttp.Request  // request phase
	resp     *fasthttp.Response // response phase
	response bool
	made     []madeToken // tokens tokenize transforms with an identifier created, both phases
}

// madeToken is a token a tokenize transform created, for transform_identifier.
type madeToken struct {
	identifier string
	doc        []byte // the token as the API shows it, its data left out
}

// setHeader sets a header of the message.
func (m *message) setHeader(name, value []byte) {
	if m.response {
		m.resp.Header.SetBytesKV(name, value)
	} else {
		m.req.Header.SetBytesKV(name, value)
	}
}

// runRequestTransforms runs the proxy's request transforms in order on the detokenized body.
func (s *Pipeline) runRequestTransforms(x *exchange, req *fasthttp.Request, body []byte) ([]byte, error) {
	m := &x.msg // in the pooled exchange: no allocation
	*m = message{body: body, req: req}
	for i := range x.px.RequestTransforms {
		if err := s.runTransform(x, &x.px.RequestTransforms[i], m, req, nil); err != nil {
			return nil, err
		}
	}
	return m.body, nil
}

// runResponseTransforms runs the proxy's response transforms in order (2xx answers only).
func (s *Pipeline) runResponseTransforms(x *exchange, resp *fasthttp.Response, body []byte) ([]byte, error) {
	m := &x.msg
	*m = message{body: body, resp: resp, response: true, made: m.made}
	var list []Transform
	if x.px != nil {
		list = x.px.ResponseTransforms
	}
	for _, ts := range [][]Transform{list, x.ingress} {
		for i := range ts {
			if err := s.runTransform(x, &ts[i], m, nil, resp); err != nil {
				return nil, err
			}
		}
	}
	if err := s.runFieldRules(x, m); err != nil {
		return nil, err
	}
	return m.body, nil
}

// transformFailed is the error of a transform that cannot do its work on this message.
func transformFailed(m *message, detail string) error {
	if m.response {
		return edge.NewProblem(http.StatusInternalServerError, "response transform failed: "+detail)
	}
	return edge.Invalid("body", "request transform failed: "+detail)
}

func (s *Pipeline) runTransform(x *exchange, t *Transform, m *message, req *fasthttp.Request, resp *fasthttp.Response) error {
	start := time.Now()
	defer func() { x.c.TransformDuration += time.Since(start) }()
	switch t.Type {
	case "wasm", "code", "":
		return s.runWasmTransform(x, t, m, req, resp)
	case "mask":
		out, ok := maskBody(t, m.body)
		if !ok {
			return transformFailed(m, "the body is too large for the mask expression or has more than 10000 matches")
		}
		m.body = out
	case "tokenize":
		if len(t.Options.Token.Data) > 0 {
			return s.tokenizeData(x, t, m)
		}
		return s.tokenizeAt(x, t, m)
	case "append_json":
		path, _ := jsonPath(t.Options.Location)
		if !gjson.ValidBytes(m.body) {
			return transformFailed(m, "append_json needs a JSON body")
		}
		v, err := s.renderValue(x, m, []byte(t.Options.Value), expr.Text)
		if err != nil {
			return err
		}
		out, err := sjsonSet(m.body, path, string(v))
		if err != nil {
			return transformFailed(m, "append_json could not set "+edge.QuoteSafe(t.Options.Location))
		}
		m.body = out
	case "append_text":
		v, err := s.renderValue(x, m, []byte(t.Options.Value), expr.Text)
		if err != nil {
			return err
		}
		m.body = append(m.body[:len(m.body):len(m.body)], v...) // a copy: body may be the caller's
	case "append_header":
		v, err := s.renderValue(x, m, []byte(t.Options.Value), expr.Header)
		if err != nil {
			return err
		}
		m.setHeader([]byte(t.Options.headerName()), v)
	}
	return nil
}

// renderValue resolves the expressions of a transform's value, fetching (and auditing) any token
// it names that the request did not. The value may also read the message (request, res, proxy)
// and the tokens earlier transforms made (transform_identifier).
func (s *Pipeline) renderValue(x *exchange, m *message, src []byte, ec expr.Context) ([]byte, error) {
	if x.limit == 0 {
		x.limit = s.opt.ProxyTokens
	}
	r := x.renderer()
	r.SetMessageSources(true)
	defer r.SetMessageSources(false)
	r.SetLimits(x.exprLimits)
	if err := x.collect(src, ec); err != nil {
		return nil, exprProblem(err)
	}
	if err := s.resolveCollected(x); err != nil {
		return nil, err
	}
	out, err := r.Render(nil, src, ec, &transformEnv{x: x, m: m})
	var e *expr.Error
	if m.response && errors.As(err, &e) && errors.Is(err, expr.ErrUnknownSource) {
		// A tokenize transform found nothing in the destination's answer: its fault, not the caller's.
		return nil, edge.NewProblem(http.StatusBadGateway, "the destination's answer gave no token for transform_identifier "+edge.QuoteSafe(e.ID))
	}
	if err != nil {
		return nil, exprProblem(err)
	}
	return out, nil
}

// transformEnv is the expr.MessageEnv of a transform's value: the exchange's tokens,
// configuration and BT-ENCRYPTED payload, the message, and the tokens transforms made.
type transformEnv struct {
	x     *exchange
	m     *message
	proxy []byte // proxyDocument, built on first use
}

func (e *transformEnv) Token(id []byte) (data, object []byte, ok bool) { return e.x.env.Token(id) }
func (e *transformEnv) Config(name []byte) ([]byte, bool)              { return e.x.env.Config(name) }
func (e *transformEnv) Encrypted() ([]byte, bool)                      { return e.x.env.Encrypted() }

func (e *transformEnv) Message(kind expr.RefKind, name []byte) ([]byte, bool) {
	if kind == expr.RefTransform {
		for _, t := range e.m.made {
			if t.identifier == string(name) {
				return t.doc, true
			}
		}
		return nil, false
	}
	switch messageSourceFor(string(name), e.m.response) {
	case "body":
		return bodyDocument(e.m.body), true
	case "proxy":
		if e.proxy == nil {
			e.proxy = proxyDocument(e.x, e.m)
		}
		return e.proxy, true
	}
	return nil, false
}

// bodyDocument is a body as a JSON document: itself when it is JSON, else a JSON string.
func bodyDocument(body []byte) []byte {
	if gjson.ValidBytes(body) {
		return body
	}
	b, _ := json.Marshal(string(body))
	return b
}

// proxyDocument is the incoming request as the proxy source shows it:
// {"request": {"headers", "body", "method", "path", "query"}}, the body as it goes to the
// destination (detokenized, transformed so far) and as a string.
func proxyDocument(x *exchange, m *message) []byte {
	headers := map[string]string{}
	for k, v := range m.req.Header.All() {
		headers[string(k)] = string(v)
	}
	b, _ := json.Marshal(map[string]any{"request": map[string]any{
		"headers": headers,
		"body":    string(m.body),
		"method":  string(m.req.Header.Method()),
		"path":    string(x.restPath),
		"query":   string(m.req.URI().QueryString()),
	}})
	return b
}

// maxMaskMatches bounds the work of one mask transform on one body.
const maxMaskMatches = 10000

// maskBody replaces every character of every capture group of every match with the replacement.
// Over maxMaskMatches, or on a body too large for the expression's cost (maskAffordable), it gives
// up (ok false) rather than leave matches unmasked.
func maskBody(t *Transform, body []byte) ([]byte, bool) {
	if t.Matcher == matcherPAN {
		return maskPANs(body, t.Replacement)
	}
	if t.re == nil {
		return body, true
	}
	if !maskAffordable(t.reInsts, len(body)) {
		return nil, false
	}
	matches := t.re.FindAllSubmatchIndex(body, maxMaskMatches+1)
	if len(matches) > maxMaskMatches {
		return nil, false
	}
	if matches == nil {
		return body, true
	}
	out := make([]byte, 0, len(body))
	last := 0
	for _, mt := range matches {
		for g := 2; g+1 < len(mt); g += 2 {
			a, b := mt[g], mt[g+1]
			if a < last || a < 0 {
				continue
			}
			out = append(out, body[last:a]...)
			n := utf8.RuneCount(body[a:b])
			out = append(out, strings.Repeat(t.Replacement, n)...)
			last = b
		}
	}
	return append(out, body[last:]...), true
}

// tokenizeAt vaults the JSON value at the transform's location as a new token (with the
// caller's permissions) and puts the token id in its place.
func (s *Pipeline) tokenizeAt(x *exchange, t *Transform, m *message) error {
	path, _ := jsonPath(t.Options.Location)
	if !gjson.ValidBytes(m.body) {
		return transformFailed(m, "tokenize needs a JSON body")
	}
	v := gjson.GetBytes(m.body, path)
	if !v.Exists() {
		return nil // nothing to vault at this location
	}
	tok, err := s.createToken(x, t, m, json.RawMessage(v.Raw), "the value at "+edge.QuoteSafe(t.Options.Location))
	if err != nil {
		return err
	}
	out, err := sjsonSet(m.body, path, tok.ID)
	if err != nil {
		return transformFailed(m, "tokenize could not replace "+edge.QuoteSafe(t.Options.Location))
	}
	m.body = out
	return nil
}

// tokenizeData vaults options.token.data, its expressions evaluated over the message, as a new
// token that later transforms read as transform_identifier. The message is not changed. Data
// that evaluates to null (the path selects nothing) creates no token.
func (s *Pipeline) tokenizeData(x *exchange, t *Transform, m *message) error {
	data, err := s.renderValue(x, m, t.Options.Token.Data, expr.JSON)
	if err != nil {
		return err
	}
	if !json.Valid(data) {
		return transformFailed(m, "options.token.data is not JSON once evaluated")
	}
	if string(bytes.TrimSpace(data)) == "null" {
		return nil
	}
	_, err = s.createToken(x, t, m, data, "options.token.data")
	return err
}

// createToken vaults data as the transform's token template says, with the permissions the
// exchange acts with, and keeps it for transform_identifier when a data-form transform has an
// identifier. what names the value in an error.
func (s *Pipeline) createToken(x *exchange, t *Transform, m *message, data json.RawMessage, what string) (*store.Token, error) {
	tpl := t.Options.Token
	req := vault.Request{Type: &tpl.Type, Metadata: tpl.Metadata, Data: data, SearchIndexes: tpl.SearchIndexes, DeduplicateToken: tpl.DeduplicateToken}
	if len(tpl.Containers) > 0 {
		req.Containers = tpl.Containers
	}
	if tpl.ExpiresAt != "" {
		req.ExpiresAt = &tpl.ExpiresAt
	}
	tok, _, err := s.vault.Create(x.c.RC, x.c.Who, &req, nil)
	if errors.Is(err, vault.ErrInvalidData) {
		if m.response {
			// The destination's data, not the edge, is at fault: a bad gateway, not a 500.
			return nil, edge.NewProblem(http.StatusBadGateway, "the destination's "+what+" is not a valid "+tpl.Type)
		}
		return nil, transformFailed(m, what+" is not a valid "+tpl.Type)
	}
	if err != nil {
		return nil, err
	}
	if id := t.Options.Identifier; id != "" && len(tpl.Data) > 0 {
		view, err := s.vault.View(tok, edge.Redact) // a reference: no data
		if err != nil {
			return nil, err
		}
		doc, err := json.Marshal(view)
		if err != nil {
			return nil, err
		}
		m.made = append(m.made, madeToken{identifier: id, doc: doc})
	}
	return tok, nil
}

// sjsonSet puts the string value at path of a JSON document (a new document; body is not changed).
func sjsonSet(body []byte, path, value string) ([]byte, error) {
	return sjson.SetBytesOptions(body, path, value, &sjson.Options{Optimistic: false, ReplaceInPlace: false})
}

// jsonPath turns a JSONPath location ($.a.b[0], $['a']) into gjson/sjson path syntax (a.b.0).
// Only plain member and index steps are accepted: a location names one value.
func jsonPath(p string) (string, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(p), "$")
	if !ok {
		return "", errors.New("must start with $")
	}
	var parts []string
	for len(rest) > 0 {
		switch rest[0] {
		case '.':
			rest = rest[1:]
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			name := rest[:end]
			if name == "" || strings.ContainsAny(name, "*?@#|\\") {
				return "", errors.New("invalid member name")
			}
			parts, rest = append(parts, name), rest[end:]
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return "", errors.New("unclosed [")
			}
			in := rest[1:end]
			rest = rest[end+1:]
			if n, err := strconv.Atoi(in); err == nil && n >= 0 {
				parts = append(parts, strconv.Itoa(n))
				continue
			}
			if len(in) >= 2 && (in[0] == '\'' || in[0] == '"') && in[len(in)-1] == in[0] {
				name := in[1 : len(in)-1]
				if name == "" || strings.ContainsAny(name, "*?@#|\\") {
					return "", errors.New("invalid member name")
				}
				parts = append(parts, strings.ReplaceAll(name, ".", `\.`))
				continue
			}
			return "", errors.New("only [n] and ['name'] steps are allowed")
		default:
			return "", errors.New("unexpected character")
		}
	}
	if len(parts) == 0 {
		return "", errors.New("must name a member")
	}
	return strings.Join(parts, "."), nil
}
