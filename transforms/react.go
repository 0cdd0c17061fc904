package transforms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/sluice-edge/sluice/transforms/internal/abi"
)

// ReactExchange is the host-side state of one reactor call: the args the
// guest reads and the result it sets. Fill the exported fields before the
// call; the caller keeps owning their bytes and must keep them unchanged
// until OnReact returns. A ReactExchange is used by one call at a time; its
// zero value is ready to use, and it may be reused for another call.
type ReactExchange struct {
	// Args are the reactor's args with their expressions resolved: one
	// JSON value. They hold plaintext: the engine copies them into guest
	// memory only when the guest reads them.
	Args []byte
	// Config is the reactor's configuration. The engine only reads it.
	Config map[string]string
	// Services may be nil: tokenize then fails and logs are dropped.
	Services Services

	ex Exchange
}

// ReactOutcome is the result of a reactor call. When Ended is true the
// guest ended the call with a standard error or a custom response, as a
// transform does (see Outcome), and Raw and Tokenize are nil. Otherwise Raw
// and Tokenize are the JSON values of the result's "raw" and "tokenize"
// members, nil when the guest left them out (or set no result). They are
// owned by the ReactExchange and valid until its next call.
type ReactOutcome struct {
	Outcome
	Raw, Tokenize []byte
}

// OnReact runs the module's sluice_on_react on rx, with the pool, memory
// and time limits of transforms. Errors are those of OnRequest: a module
// without sluice_on_react gives ErrInvalidModule, a guest that traps, times
// out or breaks the ABI gives ErrTransformFailed.
func (e *Engine) OnReact(ctx context.Context, id string, rx *ReactExchange) (ReactOutcome, error) {
	if rx == nil {
		return ReactOutcome{}, errors.New("transforms: nil react exchange")
	}
	ex := &rx.ex
	ex.Reset()
	ex.Config, ex.Services, ex.args = rx.Config, rx.Services, rx.Args
	o, err := e.run(ctx, id, ex, phaseReact)
	ex.args = nil // the caller's bytes: not kept past the call
	if err != nil || o.Ended {
		return ReactOutcome{Outcome: o}, err
	}
	return ReactOutcome{Raw: ex.resRaw, Tokenize: ex.resTokenize}, nil
}

// setReactResult records the result a reactor wrote, if it is valid, in
// ex's own buffer.
func (ex *Exchange) setReactResult(src []byte) int32 {
	raw, tok, err := decodeReactResult(src)
	if err != nil {
		return abi.ErrInvalid
	}
	ex.resArena = append(append(ex.resArena[:0], raw...), tok...)
	ex.resRaw, ex.resTokenize = nil, nil
	if raw != nil {
		ex.resRaw = ex.resArena[:len(raw):len(raw)]
	}
	if tok != nil {
		ex.resTokenize = ex.resArena[len(raw):]
	}
	return abi.OK
}

// errReactResult is why a result is refused; the guest sees ErrInvalid.
var errReactResult = errors.New(`transforms: a react result must be a JSON object with only "raw" and "tokenize"`)

// decodeReactResult checks that b is a JSON object whose only members are
// "raw" and "tokenize", each at most once, and returns their values as
// views of b (nil when absent). b is untrusted guest output: once json.Valid
// has accepted it, the walk below only has to find where members end.
func decodeReactResult(b []byte) (raw, tokenize []byte, err error) {
	if !json.Valid(b) {
		return nil, nil, errReactResult
	}
	i := skipSpace(b, 0)
	if b[i] != '{' {
		return nil, nil, errReactResult
	}
	i = skipSpace(b, i+1)
	for b[i] != '}' {
		keyEnd := endOfValue(b, i)
		key := b[i:keyEnd]
		i = skipSpace(b, skipSpace(b, keyEnd)+1) // past ':'
		end := endOfValue(b, i)
		var dst *[]byte
		switch string(memberName(key)) { // no allocation: compared, not kept
		case "raw":
			dst = &raw
		case "tokenize":
			dst = &tokenize
		default:
			return nil, nil, errReactResult
		}
		if *dst != nil {
			return nil, nil, errReactResult // a duplicate: which one wins is parser-dependent
		}
		*dst = b[i:end:end]
		if i = skipSpace(b, end); b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return raw, tokenize, nil
}

// memberName returns the name of a quoted key; only a key with escapes
// needs decoding.
func memberName(quoted []byte) []byte {
	if bytes.IndexByte(quoted, '\\') < 0 {
		return quoted[1 : len(quoted)-1]
	}
	var s string
	_ = json.Unmarshal(quoted, &s)
	return []byte(s)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// endOfValue returns the index just past the JSON value starting at b[i];
// b is valid JSON.
func endOfValue(b []byte, i int) int {
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			if depth == 0 {
				return i + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
			if depth < 0 { // a scalar ended by its container
				return i
			}
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return i
			}
		}
	}
	return i
}
