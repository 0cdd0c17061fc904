package expr

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"sync"
	"unsafe"
)

const (
	// argBufCap bounds decoded arguments and converted JSON paths of one
	// expression (at most 2 bytes of output per input byte, plus slack).
	argBufCap = 3*MaxExprLen + 64
	// streamChunk is how much Stream reads at a time.
	streamChunk = 32 << 10
	// keepBuf is the largest scratch buffer kept when a Renderer is released.
	keepBuf = 1 << 20
	// keepHits is the most expression positions a released Renderer keeps room for.
	keepHits = 4096
	// minFeed is how much more input Stream waits for, after a pass that
	// stopped inside an expression, before scanning the carry-over again: a
	// client trickling bytes cannot make it rescan up to MaxExprLen bytes
	// per byte received.
	minFeed = 1024
)

// noCopy makes go vet's copylocks check flag copies of a Renderer.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

// Renderer scans and renders expressions. It holds scratch buffers so the hot
// path does not allocate; get one with Acquire and give it back with Release.
// A Renderer is not safe for concurrent use, and must not be copied.
//
// Memory: a Renderer's scratch buffers hold plaintext token data while a call
// runs. Release wipes them before pooling the Renderer; values returned into
// dst or written to w are the caller's.
type Renderer struct {
	_ noCopy

	st        scanState
	lim       Limits
	set       Limits  // as given to SetLimits
	dflt      []byte  // as given to SetDefaultToken
	strict    bool    // as given to SetStrictFields
	srcs      sources // as given to SetMessageSources and SetProxySource
	count     int
	expansion int64
	read      int64 // bytes of Env documents read by expressions
	base      int64 // offset of the current src in the whole input
	scanned   int64 // bytes examined by process (tests check it stays linear)

	p      parser
	ex     expr
	text   [MaxExprLen]byte // decoded expression text
	argBuf []byte           // cap argBufCap
	textHW int              // high-water marks of text and argBuf, for wiping
	argHW  int
	callHW int // and of r.ex.calls, for clearing

	bufs [2][]byte // ping-pong buffers for filter chains
	hbuf []byte    // hmac scratch
	kbuf []byte    // decoded configured hmac_sha256 keys
	sum  [64]byte

	sr streamReader

	// What the last whole Scan found, for RenderScanned: its input (pointer, length, context)
	// and every expression's position in it.
	scannedSrc *byte
	scannedLen int
	scannedCtx Context
	hits       []hit
	last       lastParse

	parseAll bool // tests: every expression goes through parse, the reference for bareAt
}

// lastParse remembers which hit of the last Scan r.ex holds, parsed: valid until anything is
// parsed again. Its header (what unparse overwrites for a bare hit) is kept aside, so that
// RenderScanned can render that hit from r.ex as Scan left it instead of parsing it a second
// time; its filter calls and their arguments stay where parse put them (r.ex, r.text,
// r.argBuf), which only a parse writes.
type lastParse struct {
	valid    bool
	hit      int
	kind     RefKind
	id, path []byte
	nf       int
}

var pool = sync.Pool{New: func() any {
	return &Renderer{argBuf: make([]byte, 0, argBufCap)}
}}

// Acquire returns a Renderer from the pool. Call Release when done.
func Acquire() *Renderer {
	return pool.Get().(*Renderer)
}

// Release wipes r's scratch buffers and returns it to the pool. Neither r, a
// Reader obtained from it, nor any slice it returned that aliases its
// buffers may be used afterwards (Render's result is in dst, which is the
// caller's).
func Release(r *Renderer) {
	if r == nil {
		return
	}
	for i := range r.bufs {
		r.bufs[i] = wipe(r.bufs[i])
	}
	r.hbuf = wipe(r.hbuf)
	r.kbuf = wipe(r.kbuf)
	clear(r.sum[:])
	r.sr.out = wipe(r.sr.out)
	if r.sr.in != nil {
		clear(r.sr.in)
	}
	r.sr = streamReader{in: r.sr.in, out: r.sr.out}
	clear(r.text[:r.textHW])
	clear(r.argBuf[:r.argHW])
	r.textHW, r.argHW = 0, 0
	clear(r.ex.calls[:r.callHW]) // the rest were not written since the last Release
	r.ex.kind, r.ex.id, r.ex.path, r.ex.nf, r.callHW = 0, nil, nil, 0, 0
	r.last = lastParse{}
	r.p = parser{}
	r.set = Limits{}
	r.dflt, r.strict, r.srcs = nil, false, 0
	r.scannedSrc = nil
	if cap(r.hits) > keepHits {
		r.hits = nil
	}
	r.hits = r.hits[:0]
	pool.Put(r)
}

// wipe zeroes b's whole capacity and returns it emptied, or nil when it is
// too large to keep.
func wipe(b []byte) []byte {
	b = b[:cap(b)]
	clear(b)
	if cap(b) > keepBuf {
		return nil
	}
	return b[:0]
}

// SetLimits sets the limits of the following calls on r (until Release).
func (r *Renderer) SetLimits(l Limits) { r.set = l }

// SetDefaultToken makes id the default token (Footprint's x-fp-id): a source
// that is a Footprint data identifier, {{ id.first_name }} or
// {{ card.primary.number }}, reads that field of this token, and Ref.ID is id
// (the caller's slice, not a view into src). nil removes it. It lasts until
// Release.
func (r *Renderer) SetDefaultToken(id []byte) { r.dflt = id; r.last = lastParse{} }

// SetStrictFields makes a source's dotted path that selects nothing
// ({{ id.missing }}) ErrMissingField instead of null: Footprint's rule, where
// an absent field must not be forwarded as an empty value. It lasts until
// Release.
func (r *Renderer) SetStrictFields(on bool) { r.strict = on }

// SetMessageSources makes request, req, res, response and proxy sources (RefMessage) and
// transform_identifier: 'name' a source (RefTransform), read through MessageEnv: the sources of
// a transform's value. Without it those words are token ids. It lasts until Release or the next
// call.
func (r *Renderer) SetMessageSources(on bool) { r.setSources(srcMessage|srcProxy, on) }

// SetProxySource makes proxy a source (RefMessage) and proxy.request.… a filter argument, read
// through MessageEnv, without the other message sources: what a pre-configured proxy's request
// headers may read (Basis Theory's request signing). It lasts until Release or the next call.
func (r *Renderer) SetProxySource(on bool) { r.setSources(srcProxy, on) }

func (r *Renderer) setSources(s sources, on bool) {
	if on {
		r.srcs |= s
	} else {
		r.srcs &^= s
	}
	r.last = lastParse{}
}

// Count returns how many expressions the last Scan, Render, Stream or Reader
// saw (so far, for a Reader still being read).
func (r *Renderer) Count() int { return r.count }

func (r *Renderer) begin(ctx Context) {
	r.st.reset(ctx, r.srcs == 0 && !r.parseAll)
	r.lim = r.set.withDefaults()
	r.count, r.expansion, r.read, r.base, r.scanned = 0, 0, 0, 0, 0
}

// Scan validates every expression of src (syntax, filter names and
// arguments) and calls fn for each reference, in order, before anything is
// rendered: the caller collects the distinct token ids, enforces its limits,
// fetches the tokens in one read, checks permissions and writes audit
// records. fn may be nil. An error from fn stops the scan and is returned
// as is. Scan returns the number of expressions seen. A warmed-up Renderer does not allocate.
//
// Ref slices are views into src (see Ref). ctx must be the context src will
// be rendered in: it decides how expressions are found and decoded.
func (r *Renderer) Scan(src []byte, ctx Context, fn func(Ref) error) (int, error) {
	r.begin(ctx)
	r.scannedSrc, r.hits, r.last = nil, r.hits[:0], lastParse{}
	_, _, err := r.process(nil, src, true, nil, fn)
	if err == nil {
		r.scannedSrc, r.scannedLen, r.scannedCtx = unsafe.SliceData(src), len(src), ctx
	}
	return r.count, err
}

// Scan is Renderer.Scan on a pooled Renderer with default limits.
func Scan(src []byte, ctx Context, fn func(Ref) error) (int, error) {
	r := Acquire()
	n, err := r.Scan(src, ctx, fn)
	Release(r)
	return n, err
}

// Render appends src to dst with every expression replaced by its value,
// escaped for ctx, and returns the extended slice. Values come from env,
// which is called as expressions are met. dst must not overlap src. With
// enough capacity in dst (and a warmed-up Renderer) Render does not
// allocate.
//
// On error the result is dst truncated to its original length, and the
// partial output written beyond it has been zeroed.
func (r *Renderer) Render(dst, src []byte, ctx Context, env Env) ([]byte, error) {
	return r.render0(dst, src, ctx, env, false)
}

// RenderScanned is Render of the src the last Scan read without error: instead of scanning src
// again it renders the expressions at the positions Scan found. src's bytes must not have changed
// since (the same slice edited in place would be rendered with the old positions and JSON states;
// offsets stay in range). Given any other input (another slice, length or context) it is Render.
func (r *Renderer) RenderScanned(dst, src []byte, ctx Context, env Env) ([]byte, error) {
	scanned := r.scannedSrc != nil && r.scannedSrc == unsafe.SliceData(src) && r.scannedLen == len(src) && r.scannedCtx == ctx
	return r.render0(dst, src, ctx, env, scanned)
}

func (r *Renderer) render0(dst, src []byte, ctx Context, env Env, scanned bool) ([]byte, error) {
	if env == nil {
		env = emptyEnv{}
	}
	r.begin(ctx)
	n0 := len(dst)
	var out []byte
	var err error
	if scanned {
		out, err = r.replay(dst, src, r.hits, env)
	} else {
		out, _, err = r.process(dst, src, true, env, nil)
	}
	if err != nil {
		clear(out[n0:]) // partial output may hold plaintext
		return dst[:n0], err
	}
	return out, nil
}

// Stream renders what rd yields into w, chunk by chunk, with bounded memory:
// at most MaxExprLen bytes plus a lookahead are carried from one chunk to
// the next, and the JSON string state is kept across chunks. Env is called
// lazily, when an expression is met, so a caller that did not Scan first
// must check ids, permissions and limits inside Env. It returns the bytes
// written. On error the output written so far is a prefix of a rendering
// that cannot be completed: the caller must abort what it was sending.
func (r *Renderer) Stream(w io.Writer, rd io.Reader, ctx Context, env Env) (int64, error) {
	s := r.Reader(rd, ctx, env).(*streamReader)
	var total int64
	for {
		s.fill()
		if len(s.out) > 0 {
			n, err := w.Write(s.out)
			total += int64(n)
			if err == nil && n < len(s.out) {
				err = io.ErrShortWrite
			}
			if err != nil {
				return total, err
			}
		}
		switch {
		case s.err == io.EOF:
			return total, nil
		case s.err != nil:
			return total, s.err
		}
	}
}

// Reader returns an io.Reader yielding rd rendered as Stream would (for
// bodies consumed by pull, e.g. fasthttp's SetBodyStream). It reads rd and
// calls env lazily during Read. The reader belongs to r: it is valid until
// the next call on r or Release, and yields io.EOF at the end.
func (r *Renderer) Reader(rd io.Reader, ctx Context, env Env) io.Reader {
	if env == nil {
		env = emptyEnv{}
	}
	r.begin(ctx)
	s := &r.sr
	in := s.in
	if in == nil {
		in = make([]byte, streamChunk+MaxExprLen+16)
	}
	*s = streamReader{r: r, src: rd, env: env, in: in, out: s.out[:0]}
	return s
}

type streamReader struct {
	r     *Renderer
	src   io.Reader
	env   Env
	in    []byte // fixed length; in[:n] is unprocessed input
	n     int
	want  int    // do not process before n reaches want (unless EOF)
	out   []byte // rendered, out[off:] not yet read
	off   int
	eof   bool // src is exhausted
	done  bool // everything rendered
	empty int  // consecutive empty reads
	err   error
}

var errCarry = errors.New("expr: internal error: stream carry-over overflow")

// fill renders the next piece: on return either out is non-empty or err is
// set (io.EOF at the end).
func (s *streamReader) fill() {
	s.out, s.off = s.out[:0], 0
	for len(s.out) == 0 && s.err == nil {
		if s.done {
			s.err = io.EOF
			return
		}
		if !s.eof {
			m, err := s.src.Read(s.in[s.n:])
			if m < 0 || m > len(s.in)-s.n {
				s.err = errors.New("expr: invalid read count")
				return
			}
			s.n += m
			switch {
			case err == io.EOF:
				s.eof = true
			case err != nil:
				s.err = err
				return
			case m == 0:
				s.empty++
				if s.empty >= 100 {
					s.err = io.ErrNoProgress
				}
				continue
			}
			s.empty = 0
			if !s.eof && s.n < s.want {
				continue
			}
		}
		out, consumed, err := s.r.process(s.out[:0], s.in[:s.n], s.eof, s.env, nil)
		s.out = out
		if err != nil {
			clear(s.out)
			s.out = s.out[:0]
			s.err = err
			return
		}
		s.r.base += int64(consumed)
		s.n = copy(s.in, s.in[consumed:s.n])
		s.want = 0
		if s.n > 0 {
			s.want = min(s.n+minFeed, len(s.in))
		}
		if s.eof {
			s.done = true
		} else if s.n == len(s.in) {
			s.err = errCarry
		}
	}
}

// Read implements io.Reader.
func (s *streamReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for s.off >= len(s.out) {
		if s.err != nil {
			return 0, s.err
		}
		s.fill()
	}
	n := copy(p, s.out[s.off:])
	s.off += n
	return n, nil
}

type emptyEnv struct{}

func (emptyEnv) Token([]byte) ([]byte, []byte, bool) { return nil, nil, false }
func (emptyEnv) Config([]byte) ([]byte, bool)        { return nil, false }
func (emptyEnv) Encrypted() ([]byte, bool)           { return nil, false }

// process scans src; with env it renders onto dst, with fn it reports refs.
// Unless eof, it may stop before the end, returning how much of src was
// consumed; the rest must be presented again with more input.
func (r *Renderer) process(dst, src []byte, eof bool, env Env, fn func(Ref) error) ([]byte, int, error) {
	r.scanned += int64(len(src))
	pos := 0
	sp := newStrSpecials(src)
	var h hit
	for {
		found, se := r.st.next(&h, src[pos:], eof, &sp)
		if se != nil {
			return dst, pos, newError(se.err, se.detail, src[pos+se.e0:pos+se.e1], r.base+int64(pos+se.e0), nil, true)
		}
		if env != nil {
			dst = append(dst, src[pos:pos+h.lit]...)
		}
		if !found {
			return dst, pos + h.lit, nil
		}
		off := r.base + int64(pos+h.e0)
		var raw []byte
		var idx int
		var err error
		if h.parsed { // finish read it whole: a bare token id or encrypted
			raw = src[pos+h.e0 : pos+h.e1]
			idx, err = r.countExpr(raw, off)
			if err == nil && env != nil {
				r.last.valid = false
				r.unparse(src[pos:], &h)
			}
		} else {
			raw, idx, err = r.parseAt(src[pos:], &h, off)
		}
		if err != nil {
			return dst, pos, err
		}
		if env == nil { // Scan: RenderScanned replays these
			if !h.parsed {
				r.noteBare(&h, src[pos:])
			}
			r.hits = append(r.hits, h)
			r.hits[len(r.hits)-1].shift(pos)
			if ex := &r.ex; !h.bare { // replay rebuilds a bare one from its hit
				r.last = lastParse{valid: true, hit: len(r.hits) - 1, kind: ex.kind, id: ex.id, path: ex.path, nf: ex.nf}
			}
		}
		if fn != nil {
			if h.parsed {
				err = reportBare(fn, src[pos:], &h, raw, idx)
			} else {
				err = r.report(fn, raw, off, idx)
			}
			if err != nil {
				return dst, pos, err
			}
		}
		if env != nil {
			if dst, err = r.render(dst, &h, env, raw, off); err != nil {
				return dst, pos, err
			}
		}
		pos += h.end
	}
}

// parseAt counts, decodes and parses the expression h found in src (h's offsets index src; off
// is where it starts in the whole input) into r.ex. It returns the expression as written and its
// index.
func (r *Renderer) parseAt(src []byte, h *hit, off int64) (raw []byte, idx int, err error) {
	r.last.valid = false
	raw = src[h.e0:h.e1]
	if idx, err = r.countExpr(raw, off); err != nil {
		return raw, idx, err
	}
	text, ok := r.decode(src[h.in0:h.in1], h.inStr && h.esc)
	if !ok {
		return raw, idx, newError(ErrSyntax, "invalid escape sequence", raw, off, nil, false)
	}
	if inside(r.text[:], text) {
		r.textHW = max(r.textHW, len(text))
	}
	r.p = parser{s: text, buf: r.argBuf[:0], dflt: r.dflt, srcs: r.srcs}
	r.p.header = r.st.ctx == Header
	pe := r.p.parse(&r.ex)
	r.argHW = max(r.argHW, len(r.p.buf))
	r.callHW = max(r.callHW, r.ex.nf) // parse writes calls[:nf] only
	if pe != nil {
		return raw, idx, newError(pe.err, pe.detail, raw, off, nil, false)
	}
	return raw, idx, nil
}

// countExpr counts one more expression against Limits.MaxExprs and returns its index.
func (r *Renderer) countExpr(raw []byte, off int64) (int, error) {
	if r.count >= r.lim.MaxExprs {
		return 0, newError(ErrTooMany, "more than "+strconv.Itoa(r.lim.MaxExprs)+" expressions", raw, off, nil, false)
	}
	r.count++
	return r.count - 1, nil
}

// noteBare marks h (offsets relative to src) as bare when the expression just parsed into r.ex
// has neither path nor filters and its id, if any, is a view of src.
func (r *Renderer) noteBare(h *hit, src []byte) {
	ex := &r.ex
	if ex.nf != 0 || ex.path != nil {
		return
	}
	if len(ex.id) > 0 {
		if !inside(src, ex.id) {
			return
		}
		h.id0 = int(uintptr(unsafe.Pointer(unsafe.SliceData(ex.id))) - uintptr(unsafe.Pointer(unsafe.SliceData(src))))
		h.id1 = h.id0 + len(ex.id)
	}
	h.bare, h.kind = true, ex.kind
}

// unparse rebuilds in r.ex the bare expression h of src that Scan parsed.
func (r *Renderer) unparse(src []byte, h *hit) {
	r.ex.kind, r.ex.path, r.ex.nf, r.ex.id = h.kind, nil, 0, nil
	if h.id1 > h.id0 {
		r.ex.id = src[h.id0:h.id1:h.id1]
	}
}

// replay renders src with the expressions at the positions a Scan of it found: process without
// the scanning.
func (r *Renderer) replay(dst, src []byte, hits []hit, env Env) ([]byte, error) {
	pos := 0
	for k := range hits {
		h := &hits[k]
		dst = append(dst, src[pos:h.lit]...)
		var raw []byte
		var err error
		switch {
		case h.bare:
			raw = src[h.e0:h.e1]
			if _, err = r.countExpr(raw, int64(h.e0)); err == nil {
				r.unparse(src, h)
			}
		case r.last.valid && r.last.hit == k:
			raw = src[h.e0:h.e1]
			if _, err = r.countExpr(raw, int64(h.e0)); err == nil {
				r.ex.kind, r.ex.id, r.ex.path, r.ex.nf = r.last.kind, r.last.id, r.last.path, r.last.nf
			}
		default:
			raw, _, err = r.parseAt(src, h, int64(h.e0))
		}
		if err != nil {
			return dst, err
		}
		if dst, err = r.render(dst, h, env, raw, int64(h.e0)); err != nil {
			return dst, err
		}
		pos = h.end
	}
	return append(dst, src[pos:]...), nil
}

// sameSlice reports whether a and b are the same memory.
func sameSlice(a, b []byte) bool {
	return len(a) == len(b) && len(a) > 0 && &a[0] == &b[0]
}

// decode returns the expression text with the escaping of its context
// removed: JSON string escapes inside a JSON string (escaped: the scan saw a
// backslash in it), percent-encoding in Form and Query.
func (r *Renderer) decode(inner []byte, escaped bool) ([]byte, bool) {
	switch r.st.ctx {
	case JSON, Body, Header:
		if escaped {
			return appendUnescapeJSON(r.text[:0], inner)
		}
	case Form, Query:
		if bytes.IndexByte(inner, '%') >= 0 || bytes.IndexByte(inner, '+') >= 0 {
			return appendPercentDecoded(r.text[:0], inner), true
		}
	}
	return inner, true
}

// report calls fn for the source of the parsed expression and for every
// config.NAME argument.
func (r *Renderer) report(fn func(Ref) error, raw []byte, off int64, idx int) error {
	ex := &r.ex
	ref := Ref{Kind: ex.kind, Expr: raw, Index: idx}
	switch {
	case ex.kind == RefEncrypted:
	case r.dflt != nil && sameSlice(ex.id, r.dflt):
		ref.ID = r.dflt // {{ id.first_name }}: the default token, which src does not name
	default:
		id, ok := srcView(raw, ex.id)
		if !ok {
			return newError(ErrSyntax, "token ids and configuration names must be written without escapes", raw, off, nil, false)
		}
		ref.ID = id
	}
	if err := fn(ref); err != nil {
		return err
	}
	for k := 0; k < ex.nf; k++ {
		c := &ex.calls[k]
		for j := 0; j < c.nargs; j++ {
			if c.args[j].kind == argMessage {
				id, _ := srcView(raw, proxySource) // the argument starts with it
				if err := fn(Ref{Kind: RefMessage, ID: id, Expr: raw, Index: idx}); err != nil {
					return err
				}
				continue
			}
			if c.args[j].kind != argConfig {
				continue
			}
			id, ok := srcView(raw, c.args[j].s)
			if !ok {
				return newError(ErrSyntax, "configuration names must be written without escapes", raw, off, nil, false)
			}
			if err := fn(Ref{Kind: RefConfig, ID: id, Expr: raw, Index: idx}); err != nil {
				return err
			}
		}
	}
	return nil
}

// reportBare calls fn for the bare expression h of src that finish parsed: what report says of
// it once parsed.
func reportBare(fn func(Ref) error, src []byte, h *hit, raw []byte, idx int) error {
	ref := Ref{Kind: h.kind, Expr: raw, Index: idx}
	if h.kind != RefEncrypted {
		ref.ID = src[h.id0:h.id1:h.id1]
	}
	return fn(ref)
}

// srcView returns b as a view into raw: b itself when it already points into
// raw, else the first occurrence of its bytes in raw.
func srcView(raw, b []byte) ([]byte, bool) {
	if len(b) == 0 {
		return b, true
	}
	if inside(raw, b) {
		return b, true
	}
	i := bytes.Index(raw, b)
	if i < 0 {
		return nil, false
	}
	return raw[i : i+len(b) : i+len(b)], true
}

func inside(outer, b []byte) bool {
	if len(outer) == 0 || len(b) == 0 {
		return false
	}
	o := uintptr(unsafe.Pointer(unsafe.SliceData(outer)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return p >= o && p+uintptr(len(b)) <= o+uintptr(len(outer))
}

// overlaps reports whether the memory of a (up to its capacity) and b meet.
func overlaps(a, b []byte) bool {
	if cap(a) == 0 || len(b) == 0 {
		return false
	}
	a0 := uintptr(unsafe.Pointer(unsafe.SliceData(a)))
	a1 := a0 + uintptr(cap(a))
	b0 := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	b1 := b0 + uintptr(len(b))
	return a0 < b1 && b0 < a1
}

// render evaluates the parsed expression and appends it to dst.
func (r *Renderer) render(dst []byte, h *hit, env Env, raw []byte, off int64) ([]byte, error) {
	var v value
	var fe *ferr
	if r.bareWholeToken(h) {
		// Most detokenizations: "{{ id }}" is the whole JSON string value. Its data, when a plain
		// JSON string, is what eval and emit would write; anything else goes on as eval would.
		var doc []byte
		if doc, fe = r.tokenDoc(env); fe == nil {
			if d := trimSpace(doc); isPlainJSONString(d) {
				return append(dst, d...), nil
			}
			v, r.bufs[0], fe = r.fromField(doc, nil, r.bufs[0][:0])
		}
	} else {
		v, fe = r.eval(env)
	}
	if fe != nil {
		return dst, newError(fe.err, fe.detail, raw, off, fe.id, false)
	}
	n0 := len(dst)
	dst, fe = r.emit(dst, v, h)
	if fe != nil {
		clear(dst[n0:])
		return dst[:n0], newError(fe.err, fe.detail, raw, off, nil, false)
	}
	return dst, nil
}

// eval resolves the source of the parsed expression and runs its filters.
func (r *Renderer) eval(env Env) (value, *ferr) {
	ex := &r.ex
	var v value
	var fe *ferr
	switch ex.kind {
	case RefToken, RefTokenObject:
		var doc []byte
		if doc, fe = r.tokenDoc(env); fe == nil {
			v, r.bufs[0], fe = r.fromField(doc, ex.path, r.bufs[0][:0])
		}
	case RefConfig:
		c, ok := env.Config(ex.id)
		if !ok {
			return v, &ferr{err: ErrUnknownConfig, detail: "unknown configuration value", id: ex.id}
		}
		fe = r.charge(env, c)
		v = str(c)
	case RefEncrypted:
		doc, ok := env.Encrypted()
		if !ok {
			return v, &ferr{err: ErrNoEncrypted, detail: "the request has no BT-ENCRYPTED payload"}
		}
		if fe = r.charge(env, doc); fe == nil {
			v, r.bufs[0], fe = r.fromField(doc, ex.path, r.bufs[0][:0])
		}
	case RefMessage, RefTransform:
		var doc []byte
		if doc, fe = r.messageDoc(env); fe == nil {
			fe = r.charge(env, doc)
		}
		if fe == nil {
			v, r.bufs[0], fe = r.fromField(doc, ex.path, r.bufs[0][:0])
		}
	}
	if fe != nil {
		return v, fe
	}
	for k := 0; k < ex.nf; k++ {
		v.plain = false // a filter may change b and keep the rest of v
		idx := 0
		if overlaps(r.bufs[0], v.b) {
			idx = 1
		}
		var out []byte
		v, out, fe = r.apply(&ex.calls[k], v, r.bufs[idx][:0], env)
		if cap(out) > 0 {
			r.bufs[idx] = out[:0]
		}
		if fe != nil {
			return v, fe
		}
		if len(v.b) > maxValueLen {
			return v, errTooLarge
		}
	}
	return v, nil
}

// tokenDoc is the document of the parsed token source, charged against the limits (charge).
func (r *Renderer) tokenDoc(env Env) ([]byte, *ferr) {
	ex := &r.ex
	data, obj, ok := env.Token(ex.id)
	doc := data
	if ex.kind == RefTokenObject {
		doc = obj
	}
	if !ok || doc == nil {
		return nil, &ferr{err: ErrUnknownToken, detail: "unknown token", id: ex.id}
	}
	if fe := r.charge(env, doc); fe != nil {
		return nil, fe
	}
	return doc, nil
}

// bareWholeToken reports whether the parsed expression is a token's data alone ({{ id }}, no
// path or filter) written as the whole JSON string of a value (not a key) in a JSON input.
func (r *Renderer) bareWholeToken(h *hit) bool {
	ex := &r.ex
	return r.st.ctx == JSON && h.openQ && h.closeQ && !h.isKey && ex.kind == RefToken && ex.path == nil && ex.nf == 0
}

// messageDoc is the document of a message or transform_identifier source. A document over
// MaxSourceLen is refused: the parse-time bound of the filters assumed at most that.
func (r *Renderer) messageDoc(env Env) ([]byte, *ferr) {
	ex := &r.ex
	menv, ok := env.(MessageEnv)
	var doc []byte
	if ok {
		doc, ok = menv.Message(ex.kind, ex.id)
	}
	if !ok {
		return nil, &ferr{err: ErrUnknownSource, detail: "no " + ex.kind.String() + " source " + strconv.Quote(string(ex.id)) + " here", id: ex.id}
	}
	if len(doc) > MaxSourceLen {
		return nil, &ferr{err: ErrTooLarge, detail: "the " + string(ex.id) + " document is over " + strconv.Itoa(MaxSourceLen) + " bytes"}
	}
	return doc, nil
}

// emit appends v escaped for the context and position of h.
func (r *Renderer) emit(dst []byte, v value, h *hit) ([]byte, *ferr) {
	if v.k == kBytes {
		return dst, valueErr("binary value; encode it with to_base64 or to_base16")
	}
	var t []byte // textual form
	switch v.k {
	case kNull:
	case kRaw:
		// Objects and arrays are always emitted compact, which also
		// validates them (they are inserted unquoted in JSON bodies).
		idx := 0
		if overlaps(r.bufs[0], v.b) {
			idx = 1
		}
		c, ok := appendCompactJSON(r.bufs[idx][:0], v.b)
		r.bufs[idx] = c[:0]
		if !ok {
			return dst, valueErr("token data is not valid JSON")
		}
		t = c
	default:
		t = v.b
	}
	switch r.st.ctx {
	case JSON:
		return r.emitJSON(dst, v, t, h)
	case Form:
		return appendPercent(dst, t, true), nil
	case Query:
		return appendPercent(dst, t, false), nil
	case Header:
		if !headerSafe(t) {
			return dst, &ferr{err: ErrHeaderInjection, detail: "only UTF-8 text and HTAB are allowed"}
		}
		fallthrough
	case Body:
		if h.inStr { // in double quotes: a JSON string, an HTTP quoted-string
			return appendStringText(dst, v, t), nil
		}
		if h.inJSON { // among JSON values: a valid JSON value, as in a JSON body
			return r.emitJSON(dst, v, t, h)
		}
	}
	return append(dst, t...), nil
}

func (r *Renderer) emitJSON(dst []byte, v value, t []byte, h *hit) ([]byte, *ferr) {
	whole := h.openQ && h.closeQ
	if h.inStr && !(whole && !h.isKey) {
		// Part of a string, or an object key: always string-escaped.
		if h.openQ {
			dst = append(dst, '"')
		}
		dst = appendStringText(dst, v, t)
		if h.closeQ {
			dst = append(dst, '"')
		}
		return dst, nil
	}
	if !h.inStr && h.isKey {
		dst = append(dst, '"')
		dst = appendJSONEscaped(dst, t)
		return append(dst, '"'), nil
	}
	// A whole JSON string in value position, or a value outside strings.
	switch v.k {
	case kRaw:
		return append(dst, t...), nil // compact and validated by emit
	case kNull:
		return append(dst, litNull...), nil
	case kNumber:
		if (v.cast || !whole) && validNumber(v.b) {
			return append(dst, v.b...), nil
		}
	case kBool:
		if v.cast || !whole {
			return append(dst, v.b...), nil
		}
	}
	if v.plain {
		return append(dst, v.raw...), nil // '"' t '"' with nothing to escape
	}
	dst = append(dst, '"')
	dst = appendJSONEscaped(dst, t)
	return append(dst, '"'), nil
}

// appendStringText appends t, the text of v, escaped for the inside of a JSON string.
func appendStringText(dst []byte, v value, t []byte) []byte {
	if v.plain {
		return append(dst, t...)
	}
	return appendJSONEscaped(dst, t)
}
