package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/internal/expr"
	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/store"
)

// detokEnv is the expr.Env of one proxied request: the tokens it references, fetched once, the
// proxy's configuration and the decrypted BT-ENCRYPTED payload. Plaintext in it lives until the
// request ends.
type detokEnv struct {
	ids       []string
	res       *store.Resolved // res.Tokens[i] is ids[i] once fetched; pooled
	objs      [][]byte        // whole token objects, built only for ids named by {{ token: id }}
	wantObj   []bool
	config    map[string]string
	encrypted []byte
	next      int // where Token looks first: after the id it found last
}

var resolvedPool = sync.Pool{New: func() any { return new(store.Resolved) }}

// release wipes the plaintext the env holds and returns its buffers to the pool.
func (e *detokEnv) release() {
	if e.res != nil {
		e.res.Reset()
		resolvedPool.Put(e.res)
		e.res = nil
	}
	clear(e.encrypted) // the decrypted BT-ENCRYPTED payload
	e.encrypted = nil
}

func (e *detokEnv) fetched() int {
	if e.res == nil {
		return 0
	}
	return len(e.res.Tokens)
}

var _ expr.Env = (*detokEnv)(nil)

func (e *detokEnv) index(id []byte) int {
	for i, x := range e.ids {
		if sameID(x, id) {
			return i
		}
	}
	return -1
}

// sameID is x == string(id), told apart by their first bytes before a call to compare the rest:
// the ids of one request are random UUIDs of one length.
func sameID(x string, id []byte) bool {
	return len(x) == len(id) && (len(x) == 0 || x[0] == id[0]) && x == string(id)
}

func (e *detokEnv) Token(id []byte) (data, object []byte, ok bool) {
	// Render asks for the tokens in the order collect found them: try the one after the last.
	i := e.next
	if i >= len(e.ids) || !sameID(e.ids[i], id) {
		i = e.index(id)
	}
	e.next = i + 1
	if i < 0 || i >= e.fetched() || !e.res.Tokens[i].Found {
		return nil, nil, false
	}
	t := &e.res.Tokens[i]
	if e.objs[i] == nil && e.wantObj[i] && t.Full != nil {
		e.objs[i] = tokenObject(t.Full)
	}
	return t.Data, e.objs[i], true
}

func (e *detokEnv) Config(name []byte) ([]byte, bool) {
	v, ok := e.config[string(name)]
	if !ok {
		return nil, false
	}
	return []byte(v), true
}

func (e *detokEnv) Encrypted() ([]byte, bool) { return e.encrypted, e.encrypted != nil }

// tokenObject is the whole token, plaintext data included, for {{ token: id | … }}.
func tokenObject(t *store.Token) []byte {
	b, _ := json.Marshal(struct {
		ID         string            `json:"id"`
		Type       string            `json:"type"`
		Data       json.RawMessage   `json:"data"`
		Metadata   map[string]string `json:"metadata"`
		Containers []string          `json:"containers"`
		Finger     string            `json:"fingerprint"`
		CreatedAt  time.Time         `json:"created_at"`
		ExpiresAt  *time.Time        `json:"expires_at"`
	}{t.ID, t.Type, t.Data, t.Metadata, t.Containers, t.Fingerprint, t.CreatedAt, t.ExpiresAt})
	return b
}

// mayExpress reports whether b can hold an expression in context ec (a fast pre-check).
func mayExpress(b []byte, ec expr.Context) bool {
	if bytes.Contains(b, []byte("{{")) {
		return true
	}
	return (ec == expr.Form || ec == expr.Query) && bytes.Contains(b, []byte("%7"))
}

// collect scans src for references, adding distinct token ids to the env (at most limit).
func (x *exchange) collect(src []byte, ec expr.Context) error {
	if !mayExpress(src, ec) {
		return nil
	}
	return x.collectChecked(src, ec)
}

// collectChecked is collect for a src that mayExpress has already let through.
func (x *exchange) collectChecked(src []byte, ec expr.Context) error {
	// New ids are gathered back to back in x.idBuf and become strings together when the scan
	// ends: one allocation for all of them, and strings that share nothing with the reused buffer.
	x.idBuf, x.idEnds = x.idBuf[:0], x.idEnds[:0]
	defer x.addCollectedIDs()
	_, err := x.renderer().Scan(src, ec, func(r expr.Ref) error {
		switch r.Kind {
		case expr.RefToken, expr.RefTokenObject:
			i := x.env.index(r.ID)
			if i < 0 {
				i = x.collectedIndex(r.ID)
			}
			if i < 0 {
				if len(x.env.ids)+len(x.idEnds) >= x.limit {
					return edge.Invalid("tokens", "more than "+strconv.Itoa(x.limit)+" distinct tokens in one request")
				}
				x.idBuf = append(x.idBuf, r.ID...)
				x.idEnds = append(x.idEnds, len(x.idBuf))
				x.env.wantObj = append(x.env.wantObj, false)
				i = len(x.env.ids) + len(x.idEnds) - 1
			}
			if r.Kind == expr.RefTokenObject {
				x.env.wantObj[i] = true
			}
		case expr.RefConfig:
			if _, ok := x.env.config[string(r.ID)]; !ok {
				return edge.Invalid("expression", "unknown configuration value "+edge.QuoteSafe(string(r.ID))+" in "+edge.QuoteSafe(string(r.Expr)))
			}
		case expr.RefEncrypted:
			x.wantsEncrypted = true
		}
		return nil
	})
	return err
}

// collectedIndex is the position in x.env.ids that id will take, if the scan under way has
// collected it already; -1 if not.
func (x *exchange) collectedIndex(id []byte) int {
	start := 0
	for j, end := range x.idEnds {
		if prev := x.idBuf[start:end]; len(prev) == len(id) && (len(id) == 0 || prev[0] == id[0]) && bytes.Equal(prev, id) {
			return len(x.env.ids) + j
		}
		start = end
	}
	return -1
}

// addCollectedIDs appends the ids collect gathered to x.env.ids.
func (x *exchange) addCollectedIDs() {
	if len(x.idEnds) == 0 {
		return
	}
	all := string(x.idBuf)
	start := 0
	for _, end := range x.idEnds {
		x.env.ids = append(x.env.ids, all[start:end])
		start = end
	}
	clear(x.idBuf) // no token id stays in the pooled exchange
	x.idBuf, x.idEnds = x.idBuf[:0], x.idEnds[:0]
}

// detokenizeRequest resolves the expressions of the destination request's query, headers and
// (when body is not nil) body. Every referenced token is fetched in one vault read, checked
// against the caller's permissions and audited before anything is rendered; an audit failure
// fails the request. It returns the rendered body.
func (s *Pipeline) detokenizeRequest(x *exchange, req *fasthttp.Request, body []byte, ec expr.Context, detok bool) ([]byte, error) {
	if !detok {
		return body, nil
	}
	// Each part is checked for a possible expression once: a 1 KB body's check is ~450
	// instructions, a tenth of what the proxy adds to a request without tokens.
	query := req.URI().QueryString()
	queryExprs := mayExpress(query, expr.Query)
	if queryExprs {
		if err := x.collectChecked(query, expr.Query); err != nil {
			return nil, exprProblem(err)
		}
	}
	var headerErr error
	headerExprs := false // whether renderHeaders has anything to do
	for _, v := range req.Header.All() {
		if !mayExpress(v, expr.Header) {
			continue
		}
		if !headerExprs && x.px != nil {
			x.renderer().SetProxySource(true) // {{ proxy }} in a pre-configured proxy's headers
		}
		headerExprs = true
		x.proxyHeaders = x.proxyHeaders || x.px != nil && bytes.Contains(v, []byte("proxy"))
		if err := x.collectChecked(v, expr.Header); err != nil && headerErr == nil {
			headerErr = err
		}
	}
	if headerExprs && x.px != nil {
		x.renderer().SetProxySource(false)
	}
	if headerErr != nil {
		return nil, exprProblem(headerErr)
	}
	bodyExprs := mayExpress(body, ec)
	if bodyExprs {
		if err := x.collectChecked(body, ec); err != nil {
			return nil, exprProblem(err)
		}
	}
	if err := s.resolveCollected(x); err != nil {
		return nil, err
	}
	// The renderer is acquired only when something may hold an expression.
	if queryExprs {
		out, err := x.renderer().Render(nil, query, expr.Query, &x.env)
		if err != nil {
			return nil, exprProblem(err)
		}
		req.URI().SetQueryStringBytes(out)
	}
	if headerExprs && !x.proxyHeaders { // else renderProxyHeaders, once the body is final
		if err := renderHeaders(x, &req.Header, &x.env); err != nil {
			return nil, err
		}
	}
	if !bodyExprs {
		return body, nil
	}
	r := x.renderer()
	r.SetLimits(x.exprLimits) // renderHeaders may have narrowed them
	// collect scanned the body last: render at the positions it found.
	out, err := r.RenderScanned(x.scratch[:0], body, ec, &x.env)
	if err != nil {
		return nil, exprProblem(err)
	}
	if cap(out) <= 64<<10 {
		x.scratch = out // kept for the next request (wiped when this one ends), unless it grew big
	} else {
		clear(x.scratch[:cap(x.scratch)]) // outgrown: Render wrote part of it first
	}
	return out, nil
}

// resolveCollected makes everything the collected expressions name available to render: the
// BT-ENCRYPTED payload if one is named, and the tokens (fetched, checked, audited).
func (s *Pipeline) resolveCollected(x *exchange) error {
	if x.wantsEncrypted && x.env.encrypted == nil {
		if err := s.decryptHeader(x); err != nil {
			return err
		}
	}
	return s.fetchAndAudit(x)
}

// renderHeaders resolves expressions in header values; a control character (but HTAB) in a
// result is refused.
func renderHeaders(x *exchange, h *fasthttp.RequestHeader, env expr.Env) error {
	return renderHeadersWithin(x, h, env, expr.Limits{MaxExpansion: maxHeaderValue})
}

// renderHeadersWithin is renderHeaders under lim; a header value over maxHeaderValue is refused.
func renderHeadersWithin(x *exchange, h *fasthttp.RequestHeader, env expr.Env, lim expr.Limits) error {
	type kv struct{ k, v []byte }
	var todo []kv
	for k, v := range h.All() {
		if mayExpress(v, expr.Header) {
			todo = append(todo, kv{bytes.Clone(k), bytes.Clone(v)})
		}
	}
	r := x.renderer()
	r.SetLimits(lim)
	for _, e := range todo {
		out, err := r.Render(nil, e.v, expr.Header, env)
		if err != nil {
			return exprProblem(err)
		}
		if len(out) > maxHeaderValue {
			return edge.NewProblem(http.StatusRequestEntityTooLarge, "the detokenized request is larger than allowed")
		}
		h.SetBytesKV(e.k, out)
	}
	return nil
}

// renderProxyHeaders renders the headers of a request whose header expressions may read
// {{ proxy }} (Basis Theory's request signing), over the body as it is sent. Reading the body is
// bounded as a buffered body's expressions are; each value still by maxHeaderValue.
func renderProxyHeaders(x *exchange, req *fasthttp.Request, body []byte) error {
	r := x.renderer()
	r.SetProxySource(true)
	defer r.SetProxySource(false)
	return renderHeadersWithin(x, &req.Header, &transformEnv{x: x, m: &message{body: body, req: req}}, x.exprLimits)
}

// fetchAndAudit loads every collected token in one read, checks the caller's rules let it
// detokenize each (edge.Principal.MayDetokenize: a token they do not is unknown), and
// writes one audit record per token. Nothing is rendered unless all of that succeeded.
func (s *Pipeline) fetchAndAudit(x *exchange) error {
	from := x.env.fetched() // ids before this were fetched by an earlier call
	if from == len(x.env.ids) {
		return nil
	}
	if x.env.res == nil {
		x.env.res = resolvedPool.Get().(*store.Resolved)
	}
	if err := s.store.ResolveTokens(x.c.RC, x.env.ids[from:], x.env.res); err != nil {
		return err
	}
	for i := from; i < len(x.env.ids); i++ {
		t := &x.env.res.Tokens[i]
		if !t.Found || !x.c.Who.MayDetokenizeResolved(t) {
			return unknownToken(t.ID)
		}
		if x.env.wantObj[i] && t.Full == nil { // {{ token: id }} needs the whole token: rare
			full, err := s.store.GetToken(x.c.RC, t.ID)
			if err != nil {
				return err
			}
			t.Full = full
		}
	}
	if cap(x.events) < len(x.env.ids)-from {
		x.events = make([]store.Event, 0, len(x.env.ids))
	}
	evs := x.events[:0]
	for i, id := range x.env.ids[from:] {
		if i == 0 {
			evs = append(evs, s.detokEvent(x, id))
			continue
		}
		evs = append(evs, evs[0]) // one use, one time (one clock read; the journal formats it once)
		evs[len(evs)-1].EntityID = id
	}
	if err := s.store.Audit(x.c.RC, evs...); err != nil {
		return auditFailed(err)
	}
	if n := len(x.env.ids) - len(x.env.objs); n > 0 {
		x.env.objs = append(x.env.objs, make([][]byte, n)...) // grown and cleared in place
	}
	x.c.Tokens += len(evs)
	return nil
}

// maxHeaderValue bounds what the expressions of one header value may expand to.
const maxHeaderValue = 8 << 10

// ErrAuditFailed is in the chain of every failed audit write, with its cause: nothing was
// forwarded. (The shell answers 503 when the vault refused the write for now, else 500.)
var ErrAuditFailed = errors.New("proxy: the audit record could not be written; nothing was forwarded")

func auditFailed(err error) error { return fmt.Errorf("%w: %w", ErrAuditFailed, err) }

func (s *Pipeline) detokEvent(x *exchange, id string) store.Event {
	op := x.auditOp
	if op == "" {
		op = "detokenize"
	}
	ev := s.event(x.c, "token", id, op)
	if x.px != nil {
		ev.ProxyID = x.px.ID
	}
	ev.Reason = x.reason
	return ev
}

// lazyEnv resolves tokens one at a time for a streamed body: fetch, check, audit, then render.
// Its first failure is kept in err (the expr.Env interface cannot return one).
type lazyEnv struct {
	s   *Pipeline
	x   *exchange
	err error
}

func (l *lazyEnv) Token(id []byte) (data, object []byte, ok bool) {
	x := l.x
	if i := x.env.index(id); i >= 0 {
		return x.env.Token(id)
	}
	if len(x.env.ids) >= x.limit {
		l.err = edge.Invalid("tokens", "more than "+strconv.Itoa(x.limit)+" distinct tokens in one request")
		return nil, nil, false
	}
	// Streaming cannot scan ahead, so each token is fetched (in full: a {{ token: … }} may come)
	// when first seen.
	t, err := l.s.store.GetToken(x.c.RC, string(id))
	switch {
	case errors.Is(err, store.ErrNotFound):
		l.err = unknownToken(string(id))
	case err != nil:
		l.err = err
	case !x.c.Who.MayDetokenize(t.Containers):
		l.err = unknownToken(string(id))
	default:
		if aerr := l.s.store.Audit(x.c.RC, l.s.detokEvent(x, t.ID)); aerr != nil {
			l.err = auditFailed(aerr)
			return nil, nil, false
		}
		if x.env.res == nil {
			x.env.res = resolvedPool.Get().(*store.Resolved)
		}
		x.env.ids = append(x.env.ids, t.ID)
		x.env.res.Tokens = append(x.env.res.Tokens, store.ResolvedToken{ID: t.ID, Found: true, Type: []byte(t.Type), Data: t.Data, Full: t})
		x.env.objs = append(x.env.objs, nil)
		x.env.wantObj = append(x.env.wantObj, true)
		x.c.Tokens++
		return x.env.Token(id)
	}
	return nil, nil, false
}

func (l *lazyEnv) Config(name []byte) ([]byte, bool) { return l.x.env.Config(name) }
func (l *lazyEnv) Encrypted() ([]byte, bool)         { return l.x.env.Encrypted() }

// exprProblem maps an expression engine error to a 400 (413 when too large) that names the
// expression; expression errors never contain resolved values.
func exprProblem(err error) error {
	var p *edge.Problem
	if errors.As(err, &p) {
		return p
	}
	var e *expr.Error
	if !errors.As(err, &e) {
		return err
	}
	switch {
	case errors.Is(err, expr.ErrTooLarge):
		return edge.NewProblem(http.StatusRequestEntityTooLarge, "the detokenized request is larger than allowed")
	case errors.Is(err, expr.ErrHeaderInjection):
		return edge.Invalid("headers", edge.ExprDetail(err)) // names the expression, never its value
	case errors.Is(err, expr.ErrUnknownToken):
		return unknownToken(e.ID)
	}
	return edge.Invalid("expression", edge.ExprDetail(err))
}

// unknownToken is the one answer for a token that does not exist and for one the caller's rules
// do not let it detokenize: the two are indistinguishable, so no caller learns that a token
// exists outside its rules.
func unknownToken(id string) *edge.Problem {
	return edge.Invalid("tokens", "unknown token "+edge.QuoteSafe(id))
}
