package proxy

import (
	"errors"
	"regexp"
	"regexp/syntax"
)

// Mask transforms run a regular expression over a whole buffered body. Go's regexp is linear in
// the body, but each byte costs up to one step per instruction of the compiled program, so
// `(.*a){20}` (about 100 instructions) takes seconds over 4 MiB. Both factors are known before
// the body is read: the program's size is bounded when the proxy is saved, and its product with
// the body's size when the transform runs.
const (
	// maxMaskInsts bounds the compiled program of a mask expression.
	maxMaskInsts = 256
	// maxMaskWork bounds instructions × body bytes of one mask transform on one body: a 32-
	// instruction card-number pattern over a whole 4 MiB buffered body.
	maxMaskWork = 32 * BufferLimit
)

var errMaskTooComplex = errors.New("proxy: mask expression compiles to too many instructions")

// compileMask compiles a mask expression and returns its program size. Over maxMaskInsts it
// returns errMaskTooComplex along with the compiled expression (a proxy saved under other limits
// keeps masking the bodies it can afford).
func compileMask(expression string) (*regexp.Regexp, int, error) {
	re, err := regexp.Compile(expression)
	if err != nil {
		return nil, 0, err
	}
	parsed, err := syntax.Parse(expression, syntax.Perl)
	if err != nil {
		return nil, 0, err
	}
	prog, err := syntax.Compile(parsed.Simplify())
	if err != nil {
		return nil, 0, err
	}
	if len(prog.Inst) > maxMaskInsts {
		return re, len(prog.Inst), errMaskTooComplex
	}
	return re, len(prog.Inst), nil
}

// maskAffordable reports whether a mask program of insts instructions may run over n bytes.
func maskAffordable(insts, n int) bool {
	return int64(insts)*int64(n) <= maxMaskWork
}
