package expr

import "strconv"

// Static size bounds. Every size limit of the engine is decided from the
// expression and the sizes of the documents it reads, never from their
// contents: a limit that trips on what a filter chain made of a value would
// tell the caller something about the value (an error oracle). So each filter
// has a worst-case output size given its input size and its arguments, and a
// chain's bound is checked before anything is evaluated:
//
//   - at parse time (Scan, Render) with the largest source the engine
//     accepts (MaxSourceLen, MaxConfigLen): an expression that could build
//     a value over maxValueLen is refused there, whatever the data;
//   - at evaluation, with the size class of the source document (sizeClass)
//     and the sizes of the configuration values used as arguments, to charge
//     Limits.MaxExpansion before the chain runs.
const (
	// MaxSourceLen is the largest token document, token object or
	// BT-ENCRYPTED payload an expression is checked against at parse time.
	// A larger document still renders when its chain's bound fits.
	MaxSourceLen = 4 << 20
	// MaxConfigLen is the largest configuration value an expression is
	// checked against at parse time (the server refuses larger ones).
	MaxConfigLen = 8 << 10

	// maxStrftimeRatio bounds strftime's output bytes per byte of format:
	// the widest directives are %s (2 bytes → up to 12 digits for years to
	// 9999) and %F (2 bytes → 10).
	maxStrftimeRatio = 6
)

// errOverBound is the parse-time refusal of an expression whose worst case
// is over the value limit.
var errOverBound = &perr{err: ErrTooLarge, detail: "the filters could build a value over " + strconv.Itoa(maxValueLen) + " bytes"}

// argLenFunc returns the length of an argument's text: for config.NAME the
// length of that configuration value, or false if there is none.
type argLenFunc func(a *arg) (int64, bool)

// staticArgLen is argLen at parse time: configuration values at their largest.
func staticArgLen(a *arg) (int64, bool) {
	switch a.kind {
	case argConfig:
		return MaxConfigLen, true
	case argMessage:
		return MaxSourceLen, true
	}
	return int64(len(a.text())), true
}

// sourceBound is the largest source of kind k checked at parse time.
func sourceBound(k RefKind) int64 {
	if k == RefConfig {
		return MaxConfigLen
	}
	return MaxSourceLen
}

// chainBound returns the largest value the filters of ex can produce from a
// source of n bytes, or false (with the config name in id) when a
// configuration argument is unknown. A result over maxValueLen means some
// intermediate value could exceed it.
func (ex *expr) chainBound(n int64, argLen argLenFunc) (bound int64, id []byte, ok bool) {
	for k := 0; k < ex.nf; k++ {
		c := &ex.calls[k]
		n, id, ok = c.bound(n, argLen)
		if !ok {
			return 0, id, false
		}
		if n > maxValueLen {
			return n, nil, true
		}
	}
	return n, nil, true
}

// bound returns the largest output of c given an input of at most n bytes.
func (c *call) bound(n int64, argLen argLenFunc) (int64, []byte, bool) {
	a := &c.args
	// Arguments that may be config.NAME are measured (and so checked to
	// exist) whatever the filter does with them.
	var lens [maxArgs]int64
	for k := 0; k < c.nargs; k++ {
		l, ok := argLen(&a[k])
		if !ok {
			return 0, a[k].s, false
		}
		lens[k] = l
	}
	if c.key.kind == argConfig {
		if _, ok := argLen(&c.key); !ok {
			return 0, c.key.s, false
		}
	}
	switch c.spec.op {
	case fLast4:
		return min(n, 4*utf8Max), nil, true
	case fPrefix, fSuffix:
		return min(n, a[0].n*utf8Max), nil, true
	case fPadLeft, fPadRight:
		return n + a[0].n*lens[1], nil, true
	case fReveal, fRevealLast, fCardMask:
		// Every character becomes itself or the mask (default one byte).
		mask := int64(1)
		if m := maskArg(c); m != nil {
			mask = int64(len(m.text()))
		}
		return n * max(1, mask), nil, true
	case fCardBin:
		return min(n, 8), nil, true
	case fCardExp:
		// YYYY → 4, YY → 2, MM → 2, anything else is copied.
		return lens[0], nil, true
	case fToBoolean:
		return int64(len(litFalse)), nil, true
	case fToNumber:
		// Normalised forms (".5" → "0.5") are at most a float's longest text.
		return max(n, 32), nil, true
	case fHMAC:
		return 64, nil, true
	case fHMACSHA256:
		return 64, nil, true
	case fToBase64:
		return (n + 2) / 3 * 4, nil, true
	case fToBase16:
		return 2 * n, nil, true
	case fUpcase, fDowncase, fToASCII:
		// A character's other case or ASCII spelling is at most 3/2 of its
		// UTF-8 length (TestCaseAndASCIIGrowth).
		return n + (n+1)/2, nil, true
	case fSlice:
		length := int64(1)
		if c.nargs > 1 {
			length = a[1].n
		}
		return min(n, length*utf8Max), nil, true
	case fReplace:
		if lens[0] == 0 || lens[1] <= lens[0] {
			return n, nil, true
		}
		return n + n/lens[0]*(lens[1]-lens[0]), nil, true
	case fAppend, fPrepend:
		return n + lens[0], nil, true
	case fDefault:
		return max(n, lens[0]), nil, true
	case fDateFormat:
		return maxStrftimeRatio * lens[1], nil, true
	case fSplit:
		pieces := splitPieces(n, a[0].s)
		switch c.pick {
		case fFirst, fLast:
			return n, nil, true
		case fSize:
			return maxNumLen, nil, true
		case fJoin:
			return n + pieces*glueLen(c, 1, lens), nil, true
		}
		// A JSON array of strings: each byte escaped to at most 6, each
		// piece quoted and separated.
		n = min(n, maxSplitArray)
		return 6*n + 3*splitPieces(n, a[0].s) + 2, nil, true
	case fSize, fPlus, fMinus, fTimes, fDividedBy, fModulo, fAbs, fRound:
		return maxNumLen, nil, true
	case fJoin:
		// An array of n bytes holds at most n/2+1 elements, each no longer
		// decoded than written.
		return n + (n/2+1)*glueLen(c, 0, lens), nil, true
	case fTruncate:
		// At most length characters of the value, then the ellipsis.
		length, ellipsis := int64(50), int64(3)
		if c.nargs > 0 {
			length = max(0, a[0].n)
		}
		if c.nargs > 1 {
			ellipsis = lens[1]
		}
		return min(n, length*utf8Max) + ellipsis, nil, true
	case fCapitalize:
		return n + (n+1)/2, nil, true
	case fReplaceFirst:
		return n + max(0, lens[1]-lens[0]), nil, true
	case fURLEncode:
		return 3 * n, nil, true
	case fDate:
		return max(n, maxStrftimeRatio*lens[0]), nil, true
	case fEncrypt:
		return encryptBound(c, n), nil, true
	}
	// json, stringify, to_string, remove, first, last, strip, lstrip,
	// rstrip, url_decode: never longer than the input (a decoded JSON string
	// is shorter than its JSON text).
	return n, nil, true
}

// glueLen is the length of join's glue, the argument at k (default " ").
func glueLen(c *call, k int, lens [maxArgs]int64) int64 {
	if c.nargs > k {
		return lens[k]
	}
	return 1
}

// utf8Max is the longest UTF-8 encoding of a character.
const utf8Max = 4

// maskArg returns the mask character argument of reveal, reveal_last or
// card_mask, or nil for the default.
func maskArg(c *call) *arg {
	k := 2
	if c.spec.op == fRevealLast {
		k = 1
	}
	if c.nargs > k {
		return &c.args[k]
	}
	return nil
}

// docReads counts the filters of ex that read a JSON document again (json,
// card_exp): each is charged the source document's size.
func (ex *expr) docReads() int64 {
	var n int64
	for k := 0; k < ex.nf; k++ {
		if op := ex.calls[k].spec.op; op == fJSON || op == fCardExp {
			n++
		}
	}
	return n
}

// encryptCharge is what one encrypt filter is charged against the bytes an
// input's expressions may read (Limits.MaxExpansion): a public-key operation
// costs 0.1 to 2 ms (ECIES to RSA-8192), so an input holds at most
// MaxExpansion/1 MiB of them (64 by default) and a body full of encrypts
// cannot buy seconds of CPU.
const encryptCharge = 1 << 20

// encrypts counts the encrypt filters of ex.
func (ex *expr) encrypts() int64 {
	var n int64
	for k := 0; k < ex.nf; k++ {
		if ex.calls[k].spec.op == fEncrypt {
			n++
		}
	}
	return n
}

// checkBound refuses at parse time an expression whose worst case is over
// maxValueLen.
func (ex *expr) checkBound() *perr {
	b, _, _ := ex.chainBound(sourceBound(ex.kind), staticArgLen)
	if b > maxValueLen {
		return errOverBound
	}
	return nil
}

// emitSlack covers what emit adds around a value: quotes, or a JSON null.
const emitSlack = 8

// charge counts, before the parsed expression's chain runs on src, the bytes
// of documents it will read and the most it can render, against
// Limits.MaxExpansion; it also checks every configuration argument exists.
// Only size classes and ids decide: the same expression over any document of
// the same size class is charged the same (sizeClass).
func (r *Renderer) charge(env Env, src []byte) *ferr {
	ex := &r.ex
	n := sizeClass(int64(len(src)))
	b := n // what chainBound answers for no filters
	if ex.nf > 0 {
		var id []byte
		var ok bool
		b, id, ok = ex.chainBound(n, func(a *arg) (int64, bool) {
			switch a.kind {
			case argConfig:
				v, ok := env.Config(a.s)
				return int64(len(v)), ok
			case argMessage:
				doc, _ := messageArgDoc(env) // its size bounds any member; none: argText fails
				return int64(len(doc)), true
			}
			return int64(len(a.text())), true
		})
		if !ok {
			return &ferr{err: ErrUnknownConfig, detail: "unknown configuration value", id: id}
		}
	}
	if b > maxValueLen {
		return errTooLarge
	}
	r.read += n * (1 + ex.docReads())
	if r.read > r.lim.MaxExpansion {
		return &ferr{err: ErrTooLarge, detail: "expressions read more than " + strconv.FormatInt(r.lim.MaxExpansion, 10) + " bytes of token data"}
	}
	if k := ex.encrypts(); k > 0 {
		r.read += k * encryptCharge
		if r.read > r.lim.MaxExpansion {
			return &ferr{err: ErrTooLarge, detail: "too many encrypt filters: each is counted as reading " + strconv.Itoa(encryptCharge) + " bytes, against " + strconv.FormatInt(r.lim.MaxExpansion, 10)}
		}
	}
	r.expansion += b + emitSlack
	if r.expansion > r.lim.MaxExpansion {
		return &ferr{err: ErrTooLarge, detail: "expressions may expand to more than " + strconv.FormatInt(r.lim.MaxExpansion, 10) + " bytes"}
	}
	return nil
}

// minSizeClass is the smallest size class: every card, bank or SSN document is in it.
const minSizeClass = 256

// sizeClass is the size a document of n bytes is charged at: minSizeClass up to it, above that n
// rounded up to a sixteenth of the next power of two (at most 1/16 more). A cap charged with the
// exact size answers differently for documents one byte apart, and a chain such as
// pad_left: K, 'x' moves that edge one byte per K, so a caller could binary-search a secret's
// length; with classes only the class shows.
func sizeClass(n int64) int64 {
	if n <= minSizeClass {
		return minSizeClass
	}
	p := int64(minSizeClass)
	for p < n {
		p <<= 1
	}
	step := p / 16
	return (n + step - 1) / step * step
}
