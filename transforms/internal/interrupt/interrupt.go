// Package interrupt rewrites a WebAssembly module so that the host can stop
// its code from another goroutine, at a cost of a few inlined instructions
// per function entry and loop iteration.
//
// Every function entry and loop header counts down a budget (a global the
// rewrite adds). When it runs out, the guest yields to Go — it executes
// memory.grow 0, which wazero implements by returning to Go code, where the
// scheduler can preempt the goroutine and a stop-the-world can proceed —
// then traps if the stop flag (a second added global, exported as
// StopGlobal) is non-zero, and otherwise refills the budget. The host sets
// the flag from a timer. A bulk memory or table operation, whose time grows
// with its length, is charged one unit per KiB of that length first. Every
// call that may reach the host (a call of an import, any call_indirect) is
// followed by a look at the flag: time in the host counts too.
//
// The same parse enforces Limits on the module's shape, which bound how
// long wazero takes to compile it.
//
// Why not wazero's WithCloseOnContextDone: it checks only loop headers, so a
// guest with no loop and a call tree of depth 60 runs for ever; it returns
// to Go on every loop iteration; and it starts a watcher goroutine on every
// call, which wakes an OS thread twice per call on an idle machine — the
// cost of a whole proxied request.
//
// The flag starts set and the budget empty, so no guest code runs before
// the host clears the flag. A wasm start function would run inside
// instantiation, before the host can: the start section is removed and its
// function exported as StartFunc, for the host to call under its timer.
//
// The decoder knows the instructions of WebAssembly 2.0 (wazero's
// CoreFeaturesV2: MVP, sign extension, saturating conversions, multi-value,
// bulk memory, reference types, SIMD) as wazero reads them, and refuses
// anything else — including encodings wazero reads differently from the
// format's grammar (padded SIMD opcodes, typed-reference types). It decodes
// every instruction — a wrong immediate length would put a check inside
// another instruction's bytes — and each body must end exactly at its
// final end. wazero validates the rewritten module as usual.
package interrupt

import (
	"errors"
	"fmt"
)

// Names the rewrite exports. A module exporting either itself is refused.
const (
	StopGlobal = "sluice:stop"  // mutable i32: non-zero stops the guest at its next yield
	StartFunc  = "sluice:start" // the module's start function, when it had one
)

// YieldEvery is the number of checks (function entries and loop
// iterations) between two yields to Go: at least ~16 µs of guest work, a
// negligible share for the yield's ~0.1 µs.
const YieldEvery = 1 << 14

var (
	// ErrMalformed wraps the errors for modules this package cannot
	// rewrite (malformed, or using an instruction outside WebAssembly 2.0).
	ErrMalformed = errors.New("interrupt: cannot instrument module")
	// ErrNoMemory: the module has no memory, which the yield needs.
	ErrNoMemory = errors.New("interrupt: module has no memory")
	// ErrOverLimit wraps the errors for modules whose shape is over a
	// Limits bound; the message names the bound.
	ErrOverLimit = errors.New("interrupt: module over a limit")
)

// Limits bound the shape of a module. wazero's compile time of one
// function grows faster than linearly in its control flow (blocks and
// br_table targets, and faster still in both together) — 80 000 nested
// blocks (240 KB) compiled for 22 s, a br_table of 4M targets never
// finished — so the shape is checked while the module is parsed, before
// anything is compiled, and each bound before the work it bounds.
// ControlFlow is per function: wazero checks for cancellation between
// functions, never inside one, so it bounds how long a compile runs past
// its deadline. A zero field means no bound.
type Limits struct {
	Functions   int // functions the module defines (imports excluded)
	BodyBytes   int // bytes of one function body
	Locals      int // locals of one function, parameters included
	ControlFlow int // block, loop and if instructions plus br_table targets in one function
}

// DefaultLimits are at least 4 times what the Go toolchain produces for a
// guest (TestDefaultLimitsFitGoGuests: 1 694 of control flow, 29 KB in the
// largest function); a function at the ControlFlow bound compiles in
// 0.5–1.3 s on the 2-vCPU test machine, 0.04 s for Go's largest.
var DefaultLimits = Limits{
	Functions:   100_000,
	BodyBytes:   1 << 20,
	Locals:      50_000,
	ControlFlow: 8_192,
}

// shape is what Limits bound, as measured in a module: the most of each
// over its functions.
type shape struct {
	functions, bodyBytes, locals, controlFlow int
}

func overLimit(max int, what string) error {
	return fmt.Errorf("%w: more than %d %s", ErrOverLimit, max, what)
}

// over reports whether n is over the bound max (0: none).
func over[T int | uint32 | uint64](n T, max int) bool {
	return max > 0 && uint64(n) > uint64(max)
}

const (
	secCustom      = 0
	secType        = 1
	secImport      = 2
	secFunction    = 3
	secMemory      = 5
	secGlobal      = 6
	secExport      = 7
	secStart       = 8
	secCode        = 10
	kindFunc       = 0
	kindGlobal     = 3
	opLoop         = 0x03
	opEnd          = 0x0b
	opCall         = 0x10
	opCallIndirect = 0x11
	opGlobalGet    = 0x23
	opGlobalSet    = 0x24
)

// order ranks the known non-custom sections in the order the binary format
// requires (the data count section, 12, sits between element and code).
var order = map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9, 12: 10, 10: 11, 11: 12}

type section struct {
	id   byte
	body []byte
}

// Instrument returns a rewritten copy of the module in bin, or an error
// wrapping ErrOverLimit as soon as the module exceeds a bound of lim. bin is
// not modified.
func Instrument(bin []byte, lim Limits) ([]byte, error) {
	out, _, err := instrument(bin, lim)
	return out, err
}

// instrument is Instrument; it also returns the shape measured.
func instrument(bin []byte, lim Limits) ([]byte, shape, error) {
	var seen shape
	out, err := instrumentInto(bin, lim, &seen)
	return out, seen, err
}

// instrumentInto is Instrument, recording the shape it measures in seen.
func instrumentInto(bin []byte, lim Limits, seen *shape) ([]byte, error) {
	if len(bin) < 8 || string(bin[:4]) != "\x00asm" || string(bin[4:8]) != "\x01\x00\x00\x00" {
		return nil, fail("not a WebAssembly 1 binary")
	}
	// First pass: split the sections; count the globals (imported and
	// defined), so the added ones' indices are known before the code is
	// read; read the functions' parameter counts; find the start function.
	var secs []section
	var nGlobals, nImportedFuncs uint32
	var typeParams []uint32 // parameter count of each function type
	var funcTypes []uint32  // type index of each defined function
	hasMemory := false
	start := int64(-1)
	last := 0
	for r := (reader{b: bin, i: 8}); r.i < len(r.b); {
		id := r.byte()
		body := r.bytes()
		if r.err != nil {
			return nil, r.err
		}
		if id != secCustom {
			rank, ok := order[id]
			if !ok || rank <= last {
				return nil, fail("unknown or out-of-order section %d", id)
			}
			last = rank
		}
		secs = append(secs, section{id, body})
		var err error
		switch id {
		case secType:
			typeParams, err = readTypes(body)
		case secFunction:
			funcTypes, err = readFuncs(body, lim.Functions)
			seen.functions = len(funcTypes)
		case secImport:
			var globals, memories uint32
			nImportedFuncs, globals, memories, err = countImports(body)
			nGlobals += globals
			hasMemory = hasMemory || memories > 0
		case secMemory:
			g := reader{b: body}
			hasMemory = hasMemory || g.u32() > 0
		case secGlobal:
			g := reader{b: body}
			nGlobals += g.u32()
			if g.err != nil {
				return nil, g.err
			}
		case secStart:
			g := reader{b: body}
			start = int64(g.u32())
			if g.err != nil || g.i != len(g.b) {
				return nil, fail("bad start section")
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if !hasMemory {
		return nil, ErrNoMemory
	}
	budget := nGlobals                       // index of the first added global; the stop flag follows
	params := make([]uint32, len(funcTypes)) // of each defined function, for its locals' indices
	for i, t := range funcTypes {
		if int(t) >= len(typeParams) {
			return nil, fail("function %d has unknown type %d", i, t)
		}
		params[i] = typeParams[t]
	}

	// Second pass: copy, adding the globals and the exports (in sections of
	// their own when the module has none), instrumenting the code and
	// dropping the start section.
	out := make([]byte, 0, len(bin)+len(bin)/8+64)
	out = append(out, bin[:8]...)
	var global, export []byte // nil until written
	for _, s := range secs {
		if rank := order[s.id]; s.id != secCustom {
			if global == nil && rank > order[secGlobal] {
				global = addGlobal(nil)
				out = appendSection(out, secGlobal, global)
			}
			if export == nil && rank > order[secExport] {
				export = addExports(nil, budget+1, start)
				out = appendSection(out, secExport, export)
			}
		}
		switch s.id {
		case secGlobal:
			global = addGlobal(s.body)
			out = appendSection(out, secGlobal, global)
		case secExport:
			if err := checkExports(s.body, budget); err != nil {
				return nil, err
			}
			export = addExports(s.body, budget+1, start)
			out = appendSection(out, secExport, export)
		case secStart:
			// dropped: exported as StartFunc instead
		case secCode:
			fc := funcContext{budget: budget, imported: nImportedFuncs, lim: lim, seen: seen}
			body, err := instrumentCode(s.body, fc, params)
			if err != nil {
				return nil, err
			}
			out = appendSection(out, secCode, body)
		default:
			out = appendSection(out, s.id, s.body)
		}
	}
	if global == nil {
		out = appendSection(out, secGlobal, addGlobal(nil))
	}
	if export == nil {
		out = appendSection(out, secExport, addExports(nil, budget+1, start))
	}
	// A check is ~40 bytes, a loop 3 (a stop check 5, a call 2): a module
	// of empty loops would grow tenfold for wazero to compile. Real code
	// grows by a few percent (Go guests 4.4 %).
	if len(out) > 2*len(bin)+64<<10 {
		return nil, fail("too many functions, loops and calls for the module's size")
	}
	return out, nil
}

// readTypes reads a type section: the parameter count of each function type.
func readTypes(body []byte) ([]uint32, error) {
	r := reader{b: body}
	n := r.u32()
	var params []uint32
	for ; n > 0 && r.err == nil; n-- {
		if form := r.byte(); form != 0x60 && r.err == nil {
			r.err = fail("unsupported type form %#x", form)
		}
		np := r.valTypes()
		r.valTypes() // results
		params = append(params, np)
	}
	r.end("type section")
	return params, r.err
}

// readFuncs reads a function section: the type index of each function.
// More than limit functions (when limit > 0) is refused before they are read.
func readFuncs(body []byte, limit int) ([]uint32, error) {
	r := reader{b: body}
	n := r.u32()
	if r.err == nil && over(n, limit) {
		return nil, overLimit(limit, "functions")
	}
	var types []uint32
	for ; n > 0 && r.err == nil; n-- {
		types = append(types, r.u32())
	}
	r.end("function section")
	return types, r.err
}

// countImports reads an import section.
func countImports(body []byte) (funcs, globals, memories uint32, err error) {
	r := reader{b: body}
	for n := r.u32(); n > 0 && r.err == nil; n-- {
		r.bytes() // module
		r.bytes() // name
		switch kind := r.byte(); kind {
		case kindFunc:
			r.u32()
			funcs++
		case 1: // table: reference type, limits
			if t := r.byte(); t != 0x70 && t != 0x6f && r.err == nil {
				r.err = fail("unsupported table type %#x", t)
			}
			r.limits()
		case 2: // memory
			r.limits()
			memories++
		case kindGlobal:
			r.valType()
			r.byte() // mutability
			globals++
		default:
			if r.err == nil {
				r.err = fail("unknown import kind %d", kind)
			}
		}
	}
	r.end("import section")
	return funcs, globals, memories, r.err
}

// addGlobal appends the budget, (mut i32) starting at 0, and the stop flag,
// (mut i32) starting at 1, to a global section's body (nil for none).
func addGlobal(body []byte) []byte {
	out := recount(body, 2)
	return append(out, 0x7f, 0x01, 0x41, 0x00, opEnd, 0x7f, 0x01, 0x41, 0x01, opEnd)
}

// recount copies a vector section's body (nil for none) with its count
// raised by added, for the caller to append that many entries. The count
// was read without error before (first pass, checkExports).
func recount(body []byte, added uint32) []byte {
	r := reader{b: body}
	n := uint32(0)
	if body != nil {
		n = r.u32()
	}
	out := appendU32(make([]byte, 0, len(body)+64), n+added)
	return append(out, body[r.i:]...)
}

// checkExports refuses a module that exports one of this package's names or
// an index the added globals will have (invalid before the rewrite, valid
// after it).
func checkExports(body []byte, added uint32) error {
	r := reader{b: body}
	for n := r.u32(); n > 0 && r.err == nil; n-- {
		name := string(r.bytes())
		kind := r.byte()
		idx := r.u32()
		if name == StopGlobal || name == StartFunc {
			return fail("module exports the reserved name %q", name)
		}
		if kind == kindGlobal && idx >= added {
			return fail("export %q names global %d, which does not exist", name, idx)
		}
	}
	r.end("export section")
	return r.err
}

// addExports appends StopGlobal and, when start >= 0, StartFunc to an
// export section's body (nil for none).
func addExports(body []byte, stop uint32, start int64) []byte {
	added := uint32(1)
	if start >= 0 {
		added++
	}
	out := recount(body, added)
	out = appendName(out, StopGlobal)
	out = append(out, kindGlobal)
	out = appendU32(out, stop)
	if start >= 0 {
		out = appendName(out, StartFunc)
		out = append(out, kindFunc)
		out = appendU32(out, uint32(start))
	}
	return out
}

// appendCheck appends the code inserted at every function entry and loop
// header, with $budget at index budget and $stop after it:
//
//	(global.set $budget (i32.sub (global.get $budget) (i32.const 1)))
//	(if (i32.lt_s (global.get $budget) (i32.const 0)) (then
//	  (drop (memory.grow (i32.const 0)))   ;; yield to Go
//	  (if (global.get $stop) (then unreachable))
//	  (global.set $budget (i32.const YieldEvery))))
func appendCheck(out []byte, budget uint32) []byte {
	out = append(out, opGlobalGet)
	out = appendU32(out, budget)
	out = append(out, 0x41, 0x01, 0x6b, opGlobalSet) // i32.const 1, i32.sub
	out = appendU32(out, budget)
	out = append(out, opGlobalGet)
	out = appendU32(out, budget)
	out = append(out, 0x41, 0x00, 0x48, 0x04, 0x40) // i32.const 0, i32.lt_s, if
	out = append(out, 0x41, 0x00, 0x40, 0x00, 0x1a) // i32.const 0, memory.grow, drop
	out = append(out, opGlobalGet)
	out = appendU32(out, budget+1)
	out = append(out, 0x04, 0x40, 0x00, opEnd, 0x41) // if unreachable end, i32.const
	out = appendS32(out, YieldEvery)
	out = append(out, opGlobalSet)
	out = appendU32(out, budget)
	return append(out, opEnd)
}

// funcContext is what rewriting a function body needs to know of the
// module.
type funcContext struct {
	budget   uint32 // index of $budget; $stop follows
	imported uint32 // imported functions: calls below this index reach the host
	lim      Limits
	seen     *shape
}

// instrumentCode rewrites a code section's body; params holds the parameter
// count of each function.
func instrumentCode(body []byte, fc funcContext, params []uint32) ([]byte, error) {
	r := reader{b: body}
	n := r.u32()
	if r.err == nil && int(n) != len(params) {
		return nil, fail("%d function bodies for %d functions", n, len(params))
	}
	out := appendU32(make([]byte, 0, len(body)+len(body)/8), n)
	var fn []byte
	for i := 0; i < int(n) && r.err == nil; i++ {
		code := r.bytes()
		if r.err != nil {
			break
		}
		fc.seen.bodyBytes = max(fc.seen.bodyBytes, len(code))
		if over(len(code), fc.lim.BodyBytes) {
			return nil, overLimit(fc.lim.BodyBytes, "bytes in one function body")
		}
		var err error
		if fn, err = instrumentFunc(fn[:0], code, fc, params[i]); err != nil {
			return nil, err
		}
		out = appendU32(out, uint32(len(fn)))
		out = append(out, fn...)
	}
	r.end("code section")
	return out, r.err
}

// instrumentFunc appends the rewritten function body code to out. It adds
// one i32 local, $n, after the function's own, for the bulk-operation check.
func instrumentFunc(out, code []byte, fc funcContext, params uint32) ([]byte, error) {
	r := reader{b: code, flowMax: fc.lim.ControlFlow}
	defer func() { fc.seen.controlFlow = max(fc.seen.controlFlow, int(min(r.flow, 1<<40))) }()
	groups := r.u32()
	declStart := r.i // the count may be written longer than needed: copy from after it
	locals := uint64(params)
	for n := groups; n > 0 && r.err == nil; n-- {
		locals += uint64(r.u32())
		r.valType()
	}
	if r.err != nil {
		return nil, r.err
	}
	fc.seen.locals = max(fc.seen.locals, int(min(locals, 1<<30)))
	if over(locals, fc.lim.Locals) {
		return nil, overLimit(fc.lim.Locals, "locals in one function")
	}
	if locals >= 1<<20 {
		return nil, fail("too many locals")
	}
	local := uint32(locals) // index of $n
	budget := fc.budget
	out = appendU32(out, groups+1)
	out = append(out, code[declStart:r.i]...)
	out = append(out, 1, 0x7f) // one i32
	out = appendCheck(out, budget)
	depth := 1
	for r.i < len(r.b) {
		from := r.i
		op, bulk, err := r.instr(budget)
		if err != nil {
			return nil, err
		}
		if bulk {
			out = appendBulkCharge(out, budget, local)
		}
		out = append(out, code[from:r.i]...)
		switch op {
		case 0x02, 0x04: // block, if
			depth++
		case opLoop:
			depth++
			out = appendCheck(out, budget)
		case opCall:
			if fc.callsHost(code[from+1 : r.i]) {
				out = appendStopCheck(out, budget)
			}
		case opCallIndirect: // the table may hold a host function
			out = appendStopCheck(out, budget)
		case opEnd:
			if depth--; depth == 0 {
				if r.i != len(r.b) {
					return nil, fail("function body continues after its end")
				}
				return out, nil
			}
		}
	}
	return nil, fail("function body has no end")
}

// callsHost reports whether the immediate of a call (its function index)
// names an imported function.
func (fc funcContext) callsHost(imm []byte) bool {
	r := reader{b: imm}
	return r.u32() < fc.imported
}

// appendStopCheck appends the code inserted after every call that may reach
// the host: time spent there counts against the deadline like guest code, so
// a guest looping over host calls traps at the first return after the flag
// is set instead of at its next yield (16 384 host calls later).
//
//	(if (global.get $stop) (then unreachable))
func appendStopCheck(out []byte, budget uint32) []byte {
	out = append(out, opGlobalGet)
	out = appendU32(out, budget+1)
	return append(out, 0x04, 0x40, 0x00, opEnd)
}

// appendBulkCharge appends the code inserted before a bulk memory or table
// operation, whose length operand is on top of the stack: it charges the
// budget one unit per KiB of it, then checks as at a loop header. Without
// it a loop of 32 MiB memory.fills counted one unit per iteration and ran
// for half a minute past its timeout.
//
//	(local.tee $n)
//	(global.set $budget (i32.sub (global.get $budget) (i32.shr_u (local.get $n) (i32.const 10))))
//	check
func appendBulkCharge(out []byte, budget, local uint32) []byte {
	out = append(out, 0x22) // local.tee
	out = appendU32(out, local)
	out = append(out, opGlobalGet)
	out = appendU32(out, budget)
	out = append(out, 0x20) // local.get
	out = appendU32(out, local)
	out = append(out, 0x41, 10, 0x76, 0x6b, opGlobalSet) // i32.const 10, i32.shr_u, i32.sub
	out = appendU32(out, budget)
	return appendCheck(out, budget)
}

func fail(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}
