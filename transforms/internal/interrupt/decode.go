package interrupt

// reader decodes the binary format. The first error sticks: later reads
// return zero values, so callers check err once after a run of reads.
type reader struct {
	b   []byte
	i   int
	err error

	flowMax int    // bound on flow (0: none), checked before a br_table's targets are read
	flow    uint64 // block, loop and if instructions and br_table targets read
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.i >= len(r.b) {
		r.err = fail("unexpected end")
		return 0
	}
	c := r.b[r.i]
	r.i++
	return c
}

// leb reads a LEB128 number of at most max bytes and returns its low 64
// bits (the value only matters for unsigned indices and lengths).
func (r *reader) leb(max int) uint64 {
	var v uint64
	for n := 0; n < max; n++ {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint64(c&0x7f) << (7 * n) // max is at most 10: the shift stays below 64
		if c&0x80 == 0 {
			return v
		}
	}
	r.err = fail("integer too long")
	return 0
}

func (r *reader) u32() uint32 {
	v := r.leb(5)
	if v > 0xffffffff {
		r.err = fail("integer overflows 32 bits")
		return 0
	}
	return uint32(v)
}

// bytes reads a length-prefixed byte vector.
func (r *reader) bytes() []byte {
	n := r.u32()
	if r.err != nil {
		return nil
	}
	if uint64(n) > uint64(len(r.b)-r.i) {
		r.err = fail("length %d past the end", n)
		return nil
	}
	b := r.b[r.i : r.i+int(n)]
	r.i += int(n)
	return b
}

// end fails unless the whole of what r reads (named what) was read.
func (r *reader) end(what string) {
	if r.err == nil && r.i != len(r.b) {
		r.err = fail("%s has trailing bytes", what)
	}
}

func (r *reader) skip(n int) {
	if r.err == nil && n > len(r.b)-r.i {
		r.err = fail("unexpected end")
	}
	if r.err == nil {
		r.i += n
	}
}

func (r *reader) limits() {
	flags := r.byte()
	if flags > 1 {
		r.err = fail("unsupported limits flags %#x", flags)
	}
	r.u32()
	if flags == 1 {
		r.u32()
	}
}

func (r *reader) memarg() {
	if align := r.u32(); align >= 0x40 { // bit 6: a memory index follows (multi-memory)
		r.err = fail("unsupported memory argument")
	}
	r.u32() // offset
}

// blockType reads the type of block, loop and if: a signed 33-bit number
// (as wazero reads it, whatever its length) that is empty (-64), one of the
// value types, or a type index. Other negative values (typed references,
// exnref) are refused: their heap type would follow, and wazero would read
// as a type what this decoder would read as instructions.
func (r *reader) blockType() {
	v := r.s33()
	switch {
	case r.err != nil, v >= 0:
	case v == -64, v >= -5 && v <= -1, v == -16, v == -17: // empty, i32 i64 f32 f64 v128, funcref externref
	default:
		r.err = fail("unsupported block type %d", v)
	}
}

// s33 reads a signed LEB128 number of at most 5 bytes.
func (r *reader) s33() int64 {
	from := r.i
	v := int64(r.leb(5))
	if r.err != nil {
		return 0
	}
	if r.b[r.i-1]&0x40 != 0 { // the sign bit of the last byte
		v |= -1 << (7 * (r.i - from))
	}
	return v
}

// valType reads a value type of one byte; typed references (0x63, 0x64 and
// their heap type) are refused.
func (r *reader) valType() {
	if c := r.byte(); !valType(c) && r.err == nil {
		r.err = fail("unsupported value type %#x", c)
	}
}

// valTypes reads a vector of value types and returns its length.
func (r *reader) valTypes() uint32 {
	n := r.u32()
	for i := n; i > 0 && r.err == nil; i-- {
		r.valType()
	}
	return n
}

func valType(c byte) bool {
	switch c {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f: // i32 i64 f32 f64 v128 funcref externref
		return true
	}
	return false
}

// instr decodes one instruction, checks that it does not touch a global
// with index added or above (the ones the rewrite adds), and returns its
// opcode (the first byte) and whether it is a bulk memory or table
// operation whose cost grows with its length operand (see costlyBulk).
func (r *reader) instr(added uint32) (op byte, bulk bool, err error) {
	op = r.byte()
	switch {
	case op <= 0x01, op == 0x05, op == opEnd, op == 0x0f, op == 0x1a, op == 0x1b,
		op >= 0x45 && op <= 0xc4, op == 0xd1:
		// no immediate
	case op >= 0x02 && op <= 0x04: // block loop if
		r.addFlow(1)
		r.blockType()
	case op == 0x0c, op == 0x0d, op == 0x10, op == 0x20, op == 0x21, op == 0x22,
		op == 0x25, op == 0x26, op == 0xd2:
		// br br_if call local.* table.get table.set ref.func: one index
		r.u32()
	case op == 0x0e: // br_table
		n := r.u32()
		r.addFlow(uint64(n))
		for ; n > 0 && r.err == nil; n-- {
			r.u32()
		}
		r.u32()
	case op == 0x11: // call_indirect: type, table
		r.u32()
		r.u32()
	case op == 0x1c: // select with types
		r.valTypes()
	case op == opGlobalGet, op == opGlobalSet:
		if idx := r.u32(); idx >= added && r.err == nil {
			r.err = fail("global %d does not exist", idx)
		}
	case op >= 0x28 && op <= 0x3e: // loads and stores
		r.memarg()
	case op == 0x3f, op == 0x40: // memory.size memory.grow
		r.memIndex()
	case op == 0x41: // i32.const
		r.leb(5)
	case op == 0x42: // i64.const
		r.leb(10)
	case op == 0x43: // f32.const
		r.skip(4)
	case op == 0x44: // f64.const
		r.skip(8)
	case op == 0xd0: // ref.null
		if t := r.byte(); t != 0x70 && t != 0x6f && r.err == nil {
			r.err = fail("unknown reference type %#x", t)
		}
	case op == 0xfc:
		bulk = costlyBulk(r.miscInstr())
	case op == 0xfd:
		r.simdInstr()
	default:
		if r.err == nil {
			r.err = fail("unsupported instruction %#x", op)
		}
	}
	return op, bulk, r.err
}

// addFlow counts n units of control flow (Limits.ControlFlow).
func (r *reader) addFlow(n uint64) {
	if r.flow += n; over(r.flow, r.flowMax) && r.err == nil {
		r.err = overLimit(r.flowMax, "blocks, loops, ifs and br_table targets in one function")
	}
}

// costlyBulk reports whether the 0xfc instruction sub takes a length as its
// last operand and costs time in proportion to it: memory.init, memory.copy,
// memory.fill, table.init, table.copy, table.grow, table.fill.
func costlyBulk(sub uint32) bool {
	switch sub {
	case 8, 10, 11, 12, 14, 15, 17:
		return true
	}
	return false
}

// memIndex reads a memory index, which must be 0 (one memory).
func (r *reader) memIndex() {
	if m := r.byte(); m != 0 && r.err == nil {
		r.err = fail("unsupported memory index %d", m)
	}
}

// miscInstr decodes the 0xfc prefix: saturating conversions, bulk memory
// and table instructions.
func (r *reader) miscInstr() (sub uint32) {
	switch sub = r.u32(); {
	case r.err != nil:
	case sub <= 7: // trunc_sat
	case sub == 8: // memory.init data, memory
		r.u32()
		r.memIndex()
	case sub == 9, sub == 13, sub >= 15 && sub <= 17: // data.drop elem.drop table.grow/size/fill
		r.u32()
	case sub == 10: // memory.copy
		r.memIndex()
		r.memIndex()
	case sub == 11: // memory.fill
		r.memIndex()
	case sub == 12, sub == 14: // table.init elem, table; table.copy table, table
		r.u32()
		r.u32()
	default:
		r.err = fail("unsupported instruction 0xfc %d", sub)
	}
	return sub
}

// simdInstr decodes the 0xfd prefix (fixed-width SIMD, no relaxed SIMD).
// wazero reads the opcode as one byte, not as the LEB128 number the format
// specifies: an opcode of 128 or more is then 0x80|low bits followed by
// 0x01, which wazero runs as a nop. Only that encoding is accepted, so both
// decoders see the same instruction boundaries (a padded encoding such as
// fd 8c 00 is one instruction to wazero and v128.const to a LEB reader).
func (r *reader) simdInstr() {
	sub := r.byte()
	if sub >= 0x80 {
		if r.byte() != 0x01 && r.err == nil {
			r.err = fail("unsupported encoding of instruction 0xfd %#x", sub)
		}
		return // the opcodes from 128 on take no immediate
	}
	switch {
	case r.err != nil:
	case sub <= 11, sub == 92, sub == 93: // loads, splat loads, store, load zero
		r.memarg()
	case sub == 12, sub == 13: // v128.const, i8x16.shuffle
		r.skip(16)
	case sub >= 21 && sub <= 34: // extract and replace lane
		r.skip(1)
	case sub >= 84 && sub <= 91: // load and store lane
		r.memarg()
		r.skip(1)
	}
}

// appendU32 appends v as unsigned LEB128.
func appendU32(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// appendS32 appends v as signed LEB128.
func appendS32(b []byte, v int32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 && c&0x40 == 0 || v == -1 && c&0x40 != 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendName(b []byte, s string) []byte {
	b = appendU32(b, uint32(len(s)))
	return append(b, s...)
}

func appendSection(b []byte, id byte, body []byte) []byte {
	b = append(b, id)
	b = appendU32(b, uint32(len(body)))
	return append(b, body...)
}
