package expr

import (
	"bytes"
	"math"
	"math/big"
	"strconv"
)

// Liquid's arithmetic (plus, minus, times, divided_by, modulo, abs, round)
// with Ruby's number semantics: two integers give an integer (divided_by
// floors, modulo takes the divisor's sign); anything with a fraction or an
// exponent is a float, computed as Liquid does in exact decimals where they
// fit (183.357 | modulo: 12 is 3.357, not 3.3569999999999993) and printed as
// Ruby prints floats (6.0, 1.0e+20). A value that is not a number, a
// division by zero or a result out of range is null.

type numKind uint8

const (
	nInt   numKind = iota + 1 // i
	nDec                      // i × 10^-scale, exact
	nFloat                    // f
)

type num struct {
	kind  numKind
	i     int64
	scale int
	f     float64
}

// maxScale bounds the digits after the point of an exact decimal.
const maxScale = 18

// maxNumLen bounds the text of an arithmetic result: an int64 is at most 20
// bytes and a float in Ruby's form at most 24 ("-2.2250738585072014e-308").
const maxNumLen = 32

var pow10 = func() (t [19]int64) {
	t[0] = 1
	for k := 1; k < len(t); k++ {
		t[k] = t[k-1] * 10
	}
	return t
}()

// parseNum reads a number written as JSON writes one (or with a leading +,
// leading zeros or a bare fraction, as to_number accepts).
func parseNum(s []byte) (num, bool) {
	s = trimSpace(s)
	if len(s) == 0 || !isNumeric(s) {
		return num{}, false
	}
	f, err := strconv.ParseFloat(bstr(s), 64)
	if err != nil {
		return num{}, false
	}
	if !bytes.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(bstr(s), 10, 64); err == nil {
			return num{kind: nInt, i: i}, true
		}
		return num{kind: nFloat, f: f}, true
	}
	if d, ok := parseDecimal(s); ok {
		return d, true
	}
	return num{kind: nFloat, f: f}, true
}

// parseDecimal reads s (already checked by ParseFloat) as an exact decimal,
// or false when it does not fit.
func parseDecimal(s []byte) (num, bool) {
	neg := s[0] == '-'
	if s[0] == '-' || s[0] == '+' {
		s = s[1:]
	}
	var m int64
	scale, frac := 0, false
	for k := 0; k < len(s); k++ {
		switch c := s[k]; {
		case '0' <= c && c <= '9':
			if m > (math.MaxInt64-9)/10 {
				return num{}, false
			}
			m = m*10 + int64(c-'0')
			if frac {
				scale++
			}
		case c == '.':
			frac = true
		default: // the exponent
			e, err := strconv.Atoi(bstr(s[k+1:]))
			if err != nil || e > maxScale || e < -2*maxScale {
				return num{}, false
			}
			scale -= e
			k = len(s)
		}
	}
	if m == 0 {
		scale = 0
	}
	for ; scale < 0; scale++ {
		if m > math.MaxInt64/10 {
			return num{}, false
		}
		m *= 10
	}
	if scale > maxScale {
		return num{}, false
	}
	if neg {
		m = -m
	}
	return num{kind: nDec, i: m, scale: scale}, true
}

// float returns n as the nearest float64.
func (n num) float() float64 {
	switch n.kind {
	case nInt:
		return float64(n.i)
	case nDec:
		var buf [48]byte
		f, _ := strconv.ParseFloat(bstr(appendDecimal(buf[:0], n.i, n.scale)), 64)
		return f
	}
	return n.f
}

// appendDecimal writes m × 10^-scale in plain decimal notation.
func appendDecimal(out []byte, m int64, scale int) []byte {
	if m < 0 {
		out = append(out, '-')
	}
	var tmp [20]byte
	d := strconv.AppendUint(tmp[:0], absU(m), 10)
	switch {
	case scale <= 0:
		return append(out, d...)
	case len(d) <= scale:
		out = append(out, "0."...)
		for k := len(d); k < scale; k++ {
			out = append(out, '0')
		}
		return append(out, d...)
	}
	out = append(out, d[:len(d)-scale]...)
	out = append(out, '.')
	return append(out, d[len(d)-scale:]...)
}

func absU(m int64) uint64 {
	if m < 0 {
		return uint64(-(m + 1)) + 1
	}
	return uint64(m)
}

// appendNum writes n as Liquid prints it.
func appendNum(out []byte, n num) []byte {
	switch n.kind {
	case nInt:
		return strconv.AppendInt(out, n.i, 10)
	case nDec:
		// Read back from out, not from a stack buffer, so that nothing escapes.
		start := len(out)
		out = appendDecimal(out, n.i, n.scale)
		f, _ := strconv.ParseFloat(bstr(out[start:]), 64)
		return appendRubyFloat(out[:start], f)
	}
	return appendRubyFloat(out, n.f)
}

// appendRubyFloat writes f as Ruby's Float#to_s: the shortest digits that
// read back as f, always with a fraction, in exponent form below 1e-4 and
// from 1e16 on.
func appendRubyFloat(out []byte, f float64) []byte {
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	x := bytes.IndexByte(e, 'e')
	exp := 0
	for _, c := range e[x+2:] {
		exp = exp*10 + int(c-'0')
	}
	if e[x+1] == '-' {
		exp = -exp
	}
	if f == 0 || (exp >= -4 && exp < 16) {
		start := len(out)
		out = strconv.AppendFloat(out, f, 'f', -1, 64)
		if bytes.IndexByte(out[start:], '.') < 0 {
			out = append(out, ".0"...)
		}
		return out
	}
	out = append(out, e[:x]...)
	if bytes.IndexByte(e[:x], '.') < 0 {
		out = append(out, ".0"...)
	}
	return append(out, e[x:]...)
}

func isZero(n num) bool {
	if n.kind == nFloat {
		return n.f == 0
	}
	return n.i == 0
}

// arith applies a binary operator; false means null.
func arith(op filterOp, a, b num) (num, bool) {
	if (op == fDividedBy || op == fModulo) && isZero(b) {
		return num{}, false
	}
	if a.kind == nInt && b.kind == nInt {
		if r, ok := intArith(op, a.i, b.i); ok {
			return r, true
		}
	} else if a.kind != nFloat && b.kind != nFloat && op != fDividedBy {
		if r, ok := decArith(op, a, b); ok {
			return r, true
		}
	}
	return floatArith(op, a.float(), b.float())
}

// intArith is integer arithmetic; false on overflow.
func intArith(op filterOp, a, b int64) (num, bool) {
	var r int64
	switch op {
	case fPlus:
		r = a + b
		if (r > a) != (b > 0) {
			return num{}, false
		}
	case fMinus:
		r = a - b
		if (r < a) != (b > 0) {
			return num{}, false
		}
	case fTimes:
		var ok bool
		if r, ok = mulInt(a, b); !ok {
			return num{}, false
		}
	case fDividedBy:
		if a == math.MinInt64 && b == -1 {
			return num{}, false
		}
		r = a / b
		if a%b != 0 && (a < 0) != (b < 0) {
			r--
		}
	case fModulo:
		if b == -1 {
			return num{kind: nInt}, true
		}
		r = a % b
		if r != 0 && (r < 0) != (b < 0) {
			r += b
		}
	}
	return num{kind: nInt, i: r}, true
}

func mulInt(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	c := a * b
	if (c < 0) != ((a < 0) != (b < 0)) || c/b != a {
		return 0, false
	}
	return c, true
}

// dec returns n as a decimal (an integer has scale 0).
func (n num) dec() (int64, int) { return n.i, n.scale }

// rescale returns m × 10^-from at scale to (≥ from); false on overflow.
func rescale(m int64, from, to int) (int64, bool) {
	if to-from >= len(pow10) {
		return 0, m == 0
	}
	return mulInt(m, pow10[to-from])
}

// decArith adds, subtracts, multiplies or takes the modulo of two exact
// decimals; false when the result does not fit.
func decArith(op filterOp, a, b num) (num, bool) {
	am, as := a.dec()
	bm, bs := b.dec()
	if op == fTimes {
		m, ok := mulInt(am, bm)
		scale := as + bs
		for ok && scale > maxScale && m%10 == 0 {
			m /= 10
			scale--
		}
		return num{kind: nDec, i: m, scale: scale}, ok && scale <= maxScale
	}
	scale := max(as, bs)
	am2, ok1 := rescale(am, as, scale)
	bm2, ok2 := rescale(bm, bs, scale)
	if !ok1 || !ok2 {
		if op == fModulo { // a float would lose all the digits that matter
			return bigMod(am, as, bm, bs, scale), true
		}
		return num{}, false
	}
	am, bm = am2, bm2
	r, ok := intArith(op, am, bm)
	return num{kind: nDec, i: r.i, scale: scale}, ok
}

// bigMod is decArith's modulo when the operands do not fit at one scale:
// exact in big integers (a rare path, so its allocations do not matter).
func bigMod(am int64, as int, bm int64, bs int, scale int) num {
	ten := big.NewInt(10)
	a := new(big.Int).Mul(big.NewInt(am), new(big.Int).Exp(ten, big.NewInt(int64(scale-as)), nil))
	b := new(big.Int).Mul(big.NewInt(bm), new(big.Int).Exp(ten, big.NewInt(int64(scale-bs)), nil))
	r := new(big.Int).Mod(a, b) // Euclidean: 0 ≤ r < |b|
	if r.Sign() != 0 && b.Sign() < 0 {
		r.Add(r, b)
	}
	if r.IsInt64() {
		return num{kind: nDec, i: r.Int64(), scale: scale}
	}
	f, _ := new(big.Rat).SetFrac(r, new(big.Int).Exp(ten, big.NewInt(int64(scale)), nil)).Float64()
	return num{kind: nFloat, f: f}
}

// floatArith is float64 arithmetic; false when the result is not finite.
func floatArith(op filterOp, a, b float64) (num, bool) {
	var r float64
	switch op {
	case fPlus:
		r = a + b
	case fMinus:
		r = a - b
	case fTimes:
		r = a * b
	case fDividedBy:
		r = a / b
	case fModulo:
		r = math.Mod(a, b)
		if r != 0 && (r < 0) != (b < 0) {
			r += b
		}
	}
	if math.IsInf(r, 0) || math.IsNaN(r) {
		return num{}, false
	}
	return num{kind: nFloat, f: r}, true
}

func absNum(n num) (num, bool) {
	switch {
	case n.kind == nFloat:
		n.f = math.Abs(n.f)
	case n.i == math.MinInt64:
		return num{kind: nFloat, f: -n.float()}, true
	case n.i < 0:
		n.i = -n.i
	}
	return n, true
}

// roundNum rounds half away from zero to digits after the point (before it
// when negative). With no digits the result is an integer, as in Liquid.
func roundNum(n num, digits int) (num, bool) {
	digits = max(-maxScale, min(maxScale, digits))
	if n.kind == nFloat {
		p := math.Pow10(digits)
		f := math.Round(n.f*p) / p
		if digits == 0 && f >= math.MinInt64 && f < math.MaxInt64 {
			return num{kind: nInt, i: int64(f)}, true
		}
		return num{kind: nFloat, f: f}, !math.IsInf(f, 0) && !math.IsNaN(f)
	}
	m, scale := n.dec()
	if drop := scale - digits; drop > 0 {
		if drop >= len(pow10) {
			m = 0
		} else {
			p := pow10[drop]
			q, r := m/p, m%p
			if absU(r)*2 >= uint64(p) {
				if m < 0 {
					q--
				} else {
					q++
				}
			}
			m = q
		}
		scale = digits
	}
	if scale < 0 {
		var ok bool
		if m, ok = rescale(m, scale, 0); !ok {
			return roundNum(num{kind: nFloat, f: n.float()}, digits)
		}
		scale = 0
	}
	switch {
	case digits == 0 && scale == 0, n.kind == nInt:
		return num{kind: nInt, i: m}, true
	}
	return num{kind: nDec, i: m, scale: scale}, true
}

// applyMath runs an arithmetic filter on a number or a numeric string.
func applyMath(c *call, v value, out []byte) (value, []byte, *ferr) {
	if v.k != kNumber && v.k != kString {
		return null, out, nil
	}
	x, ok := parseNum(v.b)
	if !ok {
		return null, out, nil
	}
	var res num
	switch c.spec.op {
	case fAbs:
		res, ok = absNum(x)
	case fRound:
		digits := 0
		if c.nargs > 0 {
			digits = int(c.args[0].n)
		}
		res, ok = roundNum(x, digits)
	default:
		res, ok = arith(c.spec.op, x, c.num)
	}
	if !ok {
		return null, out, nil
	}
	o := appendNum(out, res)
	return value{k: kNumber, b: o}, o, nil
}
