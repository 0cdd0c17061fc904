package transforms

import (
	"context"
	"encoding/binary"
	"errors"
	"math"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/sluice-edge/sluice/transforms/internal/abi"
)

// The host functions of import module "sluice" (ABI.md). Each one finds its
// call through the ctx, which is the *instance running the call; outside a
// call (e.g. in _initialize) they return abi.ErrNotAllowed. Every guest
// pointer is bounds-checked: a bad one traps the call (a panic that wazero
// turns into the call's error), never touching host memory.
//
// Time in a host function counts against the call's deadline like guest
// code: each one traps when the deadline has passed, before doing any work,
// refuses arguments over its per-call cap (abi.Max…), and the guest traps
// when the first host call that returns after the deadline does
// (interrupt puts a look at the stop flag after every call that may reach
// the host).

type hostSig struct{ params, results []api.ValueType }

var (
	i32  = api.ValueTypeI32
	none = []api.ValueType{}
	ret  = []api.ValueType{i32}
)

var hostSignatures = map[string]hostSig{
	abi.FuncRead:      {[]api.ValueType{i32, i32, i32}, ret},
	abi.FuncWrite:     {[]api.ValueType{i32, i32, i32}, ret},
	abi.FuncSetStatus: {[]api.ValueType{i32}, ret},
	abi.FuncConfig:    {[]api.ValueType{i32, i32, i32, i32}, ret},
	abi.FuncTokenize:  {[]api.ValueType{i32, i32, i32, i32, i32, i32}, ret},
	abi.FuncEnd:       {[]api.ValueType{i32, i32, i32}, ret},
	abi.FuncLog:       {[]api.ValueType{i32, i32}, none},
	abi.FuncHTTP:      {[]api.ValueType{i32, i32, i32, i32}, ret},
}

var hostFuncs = map[string]api.GoModuleFunc{
	abi.FuncRead:      hostRead,
	abi.FuncWrite:     hostWrite,
	abi.FuncSetStatus: hostSetStatus,
	abi.FuncConfig:    hostConfig,
	abi.FuncTokenize:  hostTokenize,
	abi.FuncEnd:       hostEnd,
	abi.FuncLog:       hostLog,
	abi.FuncHTTP:      hostHTTPRequest,
}

func instantiateHost(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(abi.ImportModule)
	for name, fn := range hostFuncs {
		sig := hostSignatures[name]
		b.NewFunctionBuilder().WithGoModuleFunction(fn, sig.params, sig.results).Export(name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

// The traps of a bad guest pointer and of a host call after the deadline.
// Preallocated: the trap path does not allocate either.
var (
	errGuestPointer = errors.New("transforms: guest pointer out of bounds")
	errTimeUp       = errors.New("transforms: host call after the deadline")
)

// callOf returns the instance of the running call, or nil outside a call
// (in _initialize). Either way it traps if the deadline has passed.
func callOf(ctx context.Context) *instance {
	inst, ok := ctx.(*instance)
	if !ok {
		return nil
	}
	inst.checkTime()
	if inst.ex == nil {
		return nil
	}
	return inst
}

// checkTime traps when the timer of the call (or of _initialize) fired.
func (i *instance) checkTime() {
	if i.fired.Load() {
		panic(errTimeUp)
	}
}

// view returns guest memory [ptr, ptr+n) or traps.
func (i *instance) view(ptr, n uint32) []byte {
	b, ok := i.mem.Read(ptr, n)
	if !ok {
		panic(errGuestPointer)
	}
	return b
}

func setI32(stack []uint64, v int32) { stack[0] = api.EncodeI32(v) }

func hostRead(ctx context.Context, _ api.Module, stack []uint64) {
	inst := callOf(ctx)
	if inst == nil {
		setI32(stack, abi.ErrNotAllowed)
		return
	}
	what, buf, capacity := api.DecodeU32(stack[0]), api.DecodeU32(stack[1]), api.DecodeU32(stack[2])
	if !existsIn(what, inst.phase) {
		setI32(stack, abi.ErrNotAllowed)
		return
	}
	dst := inst.view(buf, capacity)
	ex := inst.ex
	var n int
	switch what {
	case abi.WhatHead:
		n = headSize(ex)
		if n <= len(dst) && n <= math.MaxInt32 {
			encodeHead(dst[:n], ex)
		}
	case abi.WhatHeaders:
		n = headersSize(ex.Headers)
		if n <= len(dst) && n <= math.MaxInt32 {
			encodeHeaders(dst[:n], ex.Headers)
		}
	case abi.WhatBody:
		n = len(ex.Body)
		if n <= len(dst) {
			copy(dst, ex.Body)
		}
	case abi.WhatResult:
		n = len(ex.result)
		if n <= len(dst) {
			copy(dst, ex.result)
		}
	case abi.WhatArgs:
		n = len(ex.args)
		if n <= len(dst) {
			copy(dst, ex.args)
		}
	default:
		setI32(stack, abi.ErrInvalid)
		return
	}
	if n > math.MaxInt32 {
		setI32(stack, abi.ErrTooLarge)
		return
	}
	setI32(stack, int32(n))
}

func hostWrite(ctx context.Context, _ api.Module, stack []uint64) {
	inst := callOf(ctx)
	if inst == nil {
		setI32(stack, abi.ErrNotAllowed)
		return
	}
	what, ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1]), api.DecodeU32(stack[2])
	if !existsIn(what, inst.phase) {
		setI32(stack, abi.ErrNotAllowed)
		return
	}
	if !writeFits(what, n, inst.m.e.cfg.MaxBodyBytes) {
		setI32(stack, abi.ErrTooLarge)
		return
	}
	src := inst.view(ptr, n)
	ex := inst.ex
	switch what {
	case abi.WhatBody:
		ex.bodyBuf = append(ex.bodyBuf[:0], src...)
		ex.Body = ex.bodyBuf
		ex.changed |= PartBody
	case abi.WhatHeaders:
		setI32(stack, ex.replaceHeaders(src))
		return
	case abi.WhatReact:
		setI32(stack, ex.setReactResult(src))
		return
	case abi.WhatPath, abi.WhatQuery:
		if inst.phase != phaseRequest {
			setI32(stack, abi.ErrNotAllowed)
			return
		}
		if what == abi.WhatPath {
			if !abi.ValidPath(src) {
				setI32(stack, abi.ErrInvalid)
				return
			}
			ex.pathBuf = append(ex.pathBuf[:0], src...)
			ex.Path = ex.pathBuf
			ex.changed |= PartPath
		} else {
			if !abi.ValidQuery(src) {
				setI32(stack, abi.ErrInvalid)
				return
			}
			ex.queryBuf = append(ex.queryBuf[:0], src...)
			ex.Query = ex.queryBuf
			ex.changed |= PartQuery
		}
	default:
		setI32(stack, abi.ErrInvalid)
		return
	}
	setI32(stack, abi.OK)
}

// existsIn reports whether item what exists in phase p: a reactor has args
// and a result but no message. Unknown items are refused later, as invalid.
func existsIn(what uint32, p phase) bool {
	switch what {
	case abi.WhatHead, abi.WhatBody, abi.WhatHeaders, abi.WhatPath, abi.WhatQuery:
		return p != phaseReact
	case abi.WhatArgs, abi.WhatReact:
		return p == phaseReact
	}
	return true
}

// writeFits reports whether n bytes are within the cap of item what.
func writeFits(what, n uint32, maxBody int) bool {
	switch what {
	case abi.WhatBody, abi.WhatReact:
		return uint64(n) <= uint64(maxBody)
	case abi.WhatHeaders:
		return n <= abi.MaxHeaderBlockBytes
	case abi.WhatPath:
		return n <= abi.MaxPathBytes
	case abi.WhatQuery:
		return n <= abi.MaxQueryBytes
	}
	return true // unknown: refused as invalid
}

func hostSetStatus(ctx context.Context, _ api.Module, stack []uint64) {
	inst := callOf(ctx)
	if inst == nil || inst.phase != phaseResponse {
		setI32(stack, abi.ErrNotAllowed)
		return
	}
	status := api.DecodeI32(stack[0])
	if !abi.ValidStatus(int64(status)) {
		setI32(stack, abi.ErrInvalid)
		return
	}
	inst.ex.Status = int(status)
	inst.ex.changed |= PartStatus
	setI32(stack, abi.OK)
}

func hostConfig(ctx context.Context, _ api.Module, stack []uint64) {
	inst := callOf(ctx)
	if inst == nil {
		setI32(stack, abi.ErrNotAllowed)
		return
	}
	if api.DecodeU32(stack[1]) > abi.MaxConfigNameBytes {
		setI32(stack, abi.ErrTooLarge)
		return
	}
	name := inst.view(api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
	dst := inst.view(api.DecodeU32(stack[2]), api.DecodeU32(stack[3]))
	v, ok := inst.ex.Config[string(name)]
	if !ok {
		setI32(stack, abi.ErrNotFound)
		return
	}
	returnSized(stack, dst, v)
}

func hostTokenize(ctx context.Context, _ api.Module, stack []uint64) {
	inst := callOf(ctx)
	if inst == nil {
		setI32(stack, abi.ErrNotAllowed)
		return
	}
	ex := inst.ex
	if msg := tokenizeOverCap(api.DecodeU32(stack[1]), api.DecodeU32(stack[3]), ex.tokens, inst.m.e.cfg.MaxTokens); msg != "" {
		ex.result = append(ex.result[:0], msg...)
		setI32(stack, abi.ErrTooLarge)
		return
	}
	typ := inst.view(api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
	data := inst.view(api.DecodeU32(stack[2]), api.DecodeU32(stack[3]))
	dst := inst.view(api.DecodeU32(stack[4]), api.DecodeU32(stack[5]))
	if ex.Services == nil {
		ex.result = append(ex.result[:0], "tokenize is not available here"...)
		setI32(stack, abi.ErrFailed)
		return
	}
	// Services never see guest memory: it is unmapped when the instance goes.
	ex.scratch = append(ex.scratch[:0], data...)
	ex.tokens++ // an attempt counts: a failure may still have cost the vault a write
	id, err := ex.Services.Tokenize(inst, string(typ), ex.scratch)
	if err != nil {
		ex.result = append(append(ex.result[:0], "tokenize failed: "...), err.Error()...)
		setI32(stack, abi.ErrFailed)
		return
	}
	ex.result = append(ex.result[:0], id...)
	returnSized(stack, dst, id)
}

// tokenizeOverCap returns why a tokenize of these sizes, after done calls
// in this call, is refused, or "".
func tokenizeOverCap(typeLen, dataLen uint32, done, maxTokens int) string {
	switch {
	case done >= maxTokens:
		return "tokenize refused: over the limit of tokens per call"
	case typeLen > abi.MaxTokenTypeBytes:
		return "tokenize refused: type name too long"
	case dataLen > abi.MaxTokenizeBytes:
		return "tokenize refused: data over the size limit"
	}
	return ""
}

func hostEnd(ctx context.Context, _ api.Module, stack []uint64) {
	inst := callOf(ctx)
	if inst == nil {
		setI32(stack, abi.ErrNotAllowed)
		return
	}
	kind := api.DecodeU32(stack[0])
	if uint64(api.DecodeU32(stack[2])) > uint64(inst.m.e.cfg.MaxBodyBytes)+abi.MaxHeaderBlockBytes {
		setI32(stack, abi.ErrTooLarge)
		return
	}
	payload := inst.view(api.DecodeU32(stack[1]), api.DecodeU32(stack[2]))
	var code int32
	if kind == abi.KindCustomResponse {
		code = inst.ex.endCustom(payload)
	} else if kind >= 1 && kind < abi.KindCustomResponse {
		code = inst.ex.endError(ErrorKind(kind), payload)
	} else {
		code = abi.ErrInvalid
	}
	if code == abi.OK {
		inst.ended = true
	}
	setI32(stack, code)
}

func hostLog(ctx context.Context, _ api.Module, stack []uint64) {
	inst := callOf(ctx)
	if inst == nil {
		return
	}
	msg := inst.view(api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
	inst.ex.log(msg, inst.m.e.cfg.MaxLogBytes)
}

func (ex *Exchange) log(p []byte, limit int) {
	if ex.Services == nil || len(p) == 0 {
		return
	}
	room := limit - ex.logUsed
	if room <= 0 {
		return
	}
	if len(p) > room {
		p = p[:room]
	}
	ex.logUsed += len(p)
	ex.scratch = append(ex.scratch[:0], p...) // Services never see guest memory
	ex.Services.Log(ex.scratch)
}

// replaceHeaders validates a headers block from the guest and, if it is
// valid, points ex.Headers at a copy of it. The copy is checked and decoded
// in one pass, in the spare arena: ex.Headers may be views of the other one
// (an earlier write), which a refused block leaves as they are.
func (ex *Exchange) replaceHeaders(src []byte) int32 {
	arena := append(ex.hdrSpare[:0], src...)
	hdrs, rest, code := parseHeaders(arena, ex.hdrsSpare[:0])
	ex.hdrSpare, ex.hdrsSpare = arena, hdrs
	if code == abi.OK && len(rest) != 0 {
		code = abi.ErrInvalid
	}
	if code != abi.OK {
		return code
	}
	ex.hdrArena, ex.hdrSpare = ex.hdrSpare, ex.hdrArena
	ex.hdrs, ex.hdrsSpare = ex.hdrsSpare, ex.hdrs
	ex.Headers = ex.hdrs
	ex.changed |= PartHeaders
	return abi.OK
}

// parseHeaders is checkHeaders and decodeHeaders in one pass: it validates
// a headers block at the start of b, appends its fields to dst as views
// into b, and returns the bytes after it. On an error dst holds a prefix of
// the fields. It never panics.
func parseHeaders(b []byte, dst []Header) ([]Header, []byte, int32) {
	if len(b) < 4 {
		return dst, nil, abi.ErrInvalid
	}
	count := binary.LittleEndian.Uint32(b)
	if count > abi.MaxHeaders {
		return dst, nil, abi.ErrTooLarge
	}
	b = b[4:]
	for range count {
		name, rest, ok1 := cutField(b)
		value, rest, ok2 := cutField(rest)
		if !ok1 || !ok2 || !abi.ValidHeaderName(name) || !abi.ValidHeaderValue(value) {
			return dst, nil, abi.ErrInvalid
		}
		dst = append(dst, Header{Name: name, Value: value})
		b = rest
	}
	return dst, b, abi.OK
}

// cutField reads a length-prefixed field at the start of b (as abi.Reader.Bytes).
func cutField(b []byte) (field, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	n := binary.LittleEndian.Uint32(b)
	b = b[4:]
	if uint64(n) > uint64(len(b)) {
		return nil, nil, false
	}
	return b[:n:n], b[n:], true
}

// endError records a standard error from a messages encoding.
func (ex *Exchange) endError(kind ErrorKind, payload []byte) int32 {
	r := abi.NewReader(payload)
	count, ok := r.U32()
	if !ok {
		return abi.ErrInvalid
	}
	if count > abi.MaxMessages {
		return abi.ErrTooLarge
	}
	for i := uint32(0); i < count; i++ {
		if _, ok := r.Bytes(); !ok {
			return abi.ErrInvalid
		}
	}
	if len(r.Rest()) != 0 {
		return abi.ErrInvalid
	}
	ex.endArena = append(ex.endArena[:0], payload...)
	ex.endMsgs = ex.endMsgs[:0]
	r = abi.NewReader(ex.endArena)
	r.U32()
	for i := uint32(0); i < count; i++ {
		before := len(ex.endArena) - len(r.Rest()) + 4
		m, _ := r.Bytes()
		ex.endMsgs = append(ex.endMsgs, [2]int{before, before + len(m)})
	}
	ex.endKind, ex.endStatus = kind, kind.Status()
	ex.endHdrs, ex.endBody = ex.endHdrs[:0], nil
	return abi.OK
}

// endCustom records a custom response: u32 status, headers block, body.
func (ex *Exchange) endCustom(payload []byte) int32 {
	r := abi.NewReader(payload)
	status, ok := r.U32()
	if !ok || !abi.ValidStatus(int64(status)) {
		return abi.ErrInvalid
	}
	count, _, code := checkHeaders(r.Rest())
	if code != abi.OK {
		return code
	}
	ex.endArena = append(ex.endArena[:0], payload...)
	var body []byte
	ex.endHdrs, body = decodeHeaders(ex.endArena[4:], ex.endHdrs[:0], count)
	ex.endBody = body
	ex.endMsgs = ex.endMsgs[:0]
	ex.endKind, ex.endStatus = CustomHTTPResponse, int(status)
	return abi.OK
}

// checkHeaders validates a headers block at the start of b and returns its
// field count and the bytes after it. It never panics.
func checkHeaders(b []byte) (count uint32, rest []byte, code int32) {
	r := abi.NewReader(b)
	count, ok := r.U32()
	if !ok {
		return 0, nil, abi.ErrInvalid
	}
	if count > abi.MaxHeaders {
		return 0, nil, abi.ErrTooLarge
	}
	for i := uint32(0); i < count; i++ {
		name, ok1 := r.Bytes()
		value, ok2 := r.Bytes()
		if !ok1 || !ok2 || !abi.ValidHeaderName(name) || !abi.ValidHeaderValue(value) {
			return 0, nil, abi.ErrInvalid
		}
	}
	return count, r.Rest(), abi.OK
}

// decodeHeaders appends the count fields of a block checked by
// checkHeaders to dst, as views into b, and returns the bytes after it.
func decodeHeaders(b []byte, dst []Header, count uint32) ([]Header, []byte) {
	r := abi.NewReader(b)
	r.U32()
	for i := uint32(0); i < count; i++ {
		name, _ := r.Bytes()
		value, _ := r.Bytes()
		dst = append(dst, Header{Name: name, Value: value})
	}
	return dst, r.Rest()
}

func headersSize(hs []Header) int {
	n := 4
	for _, h := range hs {
		n += 8 + len(h.Name) + len(h.Value)
	}
	return n
}

func headSize(ex *Exchange) int {
	return 12 + len(ex.Method) + len(ex.Path) + len(ex.Query) + 4 + headersSize(ex.Headers)
}

// encodeHead writes the head of ex; b has exactly headSize(ex) bytes.
func encodeHead(b []byte, ex *Exchange) {
	b = abi.PutBytes(b, ex.Method)
	b = abi.PutBytes(b, ex.Path)
	b = abi.PutBytes(b, ex.Query)
	b = abi.PutU32(b, uint32(ex.Status))
	encodeHeaders(b, ex.Headers)
}

func encodeHeaders(b []byte, hs []Header) {
	b = abi.PutU32(b, uint32(len(hs)))
	for _, h := range hs {
		b = abi.PutBytes(b, h.Name)
		b = abi.PutBytes(b, h.Value)
	}
}

// returnSized answers a read-shaped host call: v is copied into dst only if it fits, and the
// call returns len(v) either way, so the guest can retry with a buffer of the right size.
func returnSized[T string | []byte](stack []uint64, dst []byte, v T) {
	if len(v) > math.MaxInt32 {
		setI32(stack, abi.ErrTooLarge)
		return
	}
	if len(v) <= len(dst) {
		copy(dst, v)
	}
	setI32(stack, int32(len(v)))
}
