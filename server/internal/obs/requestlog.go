package obs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// RequestLine is the canonical log line of one request: route pattern (never the path), no
// header values, no bodies.
type RequestLine struct {
	RequestID   []byte
	Start       time.Time
	Method      string
	Route       string
	Status      int
	Duration    time.Duration
	Application string
	Destination time.Duration
	Transforms  time.Duration
	ProxyID     string
	Tokens      int
	Bytes       int64  // response body bytes sent to the caller
	ErrClass    string // why the exchange failed or was cut ("": it was not); see destbody.go
	Conn        uint64 // the connection's id: picks the log shard, not logged
}

// LogRequest writes l to log at info level. When buf, the log's own buffer, is set (the usual
// case) the line is encoded by hand into buf — the same JSON slog's JSONHandler writes for these
// attributes (TestRequestLineMatchesSlog), at a tenth of the cost; slog formats floats through
// encoding/json. Without buf (a caller-supplied Logger) the line goes through slog.
func LogRequest(ctx context.Context, log *slog.Logger, buf *BufferedLog, l *RequestLine) {
	if !log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	if buf == nil {
		log.LogAttrs(ctx, slog.LevelInfo, "request", l.attrs()...)
		return
	}
	buf.writeRequestLine(l, l.Start.Add(l.Duration))
}

func (l *RequestLine) attrs() []slog.Attr {
	a := []slog.Attr{
		slog.String("request_id", string(l.RequestID)),
		slog.String("method", l.Method),
		slog.String("route", l.Route),
		slog.Int("status", l.Status),
		slog.Float64("duration_ms", millis(l.Duration)),
		slog.String("application_id", l.Application),
		slog.Float64("destination_ms", millis(l.Destination)),
		slog.Float64("transforms_ms", millis(l.Transforms)),
		slog.String("proxy_id", l.ProxyID),
		slog.Int("tokens", l.Tokens),
		slog.Int64("bytes", l.Bytes),
	}
	if l.ErrClass != "" {
		a = append(a, slog.String("error", l.ErrClass))
	}
	return a
}

// millis is d in milliseconds with microsecond resolution.
func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func appendRequestLine(b []byte, now time.Time, l *RequestLine) []byte {
	b = append(b, `{"time":"`...)
	b = appendLogTime(b, now)
	b = append(b, `","level":"INFO","msg":"request","request_id":`...)
	b = appendLogString(b, string(l.RequestID))
	b = append(b, `,"method":`...)
	b = appendLogString(b, l.Method)
	b = append(b, `,"route":`...)
	b = appendLogString(b, l.Route)
	b = append(b, `,"status":`...)
	b = appendInt(b, int64(l.Status))
	b = append(b, `,"duration_ms":`...)
	b = appendMillis(b, l.Duration)
	b = append(b, `,"application_id":`...)
	b = appendLogString(b, l.Application)
	b = append(b, `,"destination_ms":`...)
	b = appendMillis(b, l.Destination)
	b = append(b, `,"transforms_ms":`...)
	b = appendMillis(b, l.Transforms)
	b = append(b, `,"proxy_id":`...)
	b = appendLogString(b, l.ProxyID)
	b = append(b, `,"tokens":`...)
	b = appendInt(b, int64(l.Tokens))
	b = append(b, `,"bytes":`...)
	b = appendInt(b, l.Bytes)
	if l.ErrClass != "" {
		b = append(b, `,"error":`...)
		b = appendLogString(b, l.ErrClass)
	}
	return append(b, '}', '\n')
}

// appendMillis writes d in milliseconds with microsecond resolution, in integers: the same
// text as strconv.AppendFloat(millis(d), 'f', -1, 64) (TestAppendMillisMatchesFloat), without
// the shortest-float search.
func appendMillis(b []byte, d time.Duration) []byte {
	us := d.Microseconds()
	if us < 0 {
		b = append(b, '-')
		us = -us
	}
	b = appendUint(b, uint64(us/1000))
	frac := us % 1000
	if frac == 0 {
		return b
	}
	b = append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
	for b[len(b)-1] == '0' {
		b = b[:len(b)-1]
	}
	return b
}

// logSecond is the RFC 3339 text of one second (date and time, zone apart) in one location.
type logSecond struct {
	unix     int64
	loc      *time.Location
	dateTime []byte // 2006-01-02T15:04:05
	zone     []byte // Z or ±07:00
}

// lastLogSecond caches the text of the second the last request line was written in: lines
// come many to a second, and formatting a date is most of the cost of the time.
var lastLogSecond atomic.Pointer[logSecond]

// appendLogTime writes t as time.RFC3339Nano does (TestAppendLogTimeMatchesRFC3339Nano).
func appendLogTime(b []byte, t time.Time) []byte {
	sec := lastLogSecond.Load()
	if sec == nil || sec.unix != t.Unix() || sec.loc != t.Location() {
		sec = &logSecond{unix: t.Unix(), loc: t.Location(),
			dateTime: t.AppendFormat(nil, "2006-01-02T15:04:05"), zone: t.AppendFormat(nil, "Z07:00")}
		lastLogSecond.Store(sec)
	}
	b = append(b, sec.dateTime...)
	if ns := t.Nanosecond(); ns != 0 {
		var frac [10]byte
		frac[0] = '.'
		for i := 8; i > 1; i -= 2 { // two digits a step: four divisions instead of nine
			q := ns / 100
			d := 2 * (ns - 100*q)
			frac[i], frac[i+1] = decimalPairs[d], decimalPairs[d+1]
			ns = q
		}
		frac[1] = byte('0' + ns)
		n := len(frac)
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, frac[:n]...)
	}
	return append(b, sec.zone...)
}

// appendInt writes v in decimal, as strconv.AppendInt(b, v, 10) does (FuzzAppendIntMatchesStrconv).
func appendInt(b []byte, v int64) []byte {
	if v < 0 {
		return appendUint(append(b, '-'), uint64(-v)) // -MinInt64 wraps to its own magnitude
	}
	return appendUint(b, uint64(v))
}

// appendUint writes v in decimal. The log line's numbers are mostly of one to four digits
// (status, tokens, bytes, milliseconds): those are written straight from decimalPairs, without
// strconv's general path and its copy from a scratch buffer.
func appendUint(b []byte, v uint64) []byte {
	switch {
	case v < 10:
		return append(b, byte('0'+v))
	case v < 100:
		return append(b, decimalPairs[2*v], decimalPairs[2*v+1])
	case v < 1000:
		lo := 2 * (v % 100)
		return append(b, byte('0'+v/100), decimalPairs[lo], decimalPairs[lo+1])
	case v < 10000:
		hi, lo := 2*(v/100), 2*(v%100)
		return append(b, decimalPairs[hi], decimalPairs[hi+1], decimalPairs[lo], decimalPairs[lo+1])
	}
	return strconv.AppendUint(b, v, 10)
}

// decimalPairs holds 00 to 99, two bytes each.
const decimalPairs = "00010203040506070809" + "10111213141516171819" + "20212223242526272829" +
	"30313233343536373839" + "40414243444546474849" + "50515253545556575859" + "60616263646566676869" +
	"70717273747576777879" + "80818283848586878889" + "90919293949596979899"

// appendLogString quotes s as slog's JSONHandler does: \", \\, \n, \r, \t, \u00XX for other
// control bytes, \ufffd for invalid UTF-8.
func appendLogString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	if plainLogString(s) { // the usual case: ids, routes and methods the server made
		b = append(b, s...)
		return append(b, '"')
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, `\ufffd`...)
			} else if r == '\u2028' || r == '\u2029' {
				b = append(b, `\u202`...)
				b = append(b, hexDigits[r&0xf])
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			b = append(b, c)
		}
		i++
	}
	return append(b, '"')
}

// plainLogString reports whether every byte of s is written as is (printable ASCII without
// '"' or '\\'): eight bytes at a time, the last word overlapping the one before; a string
// shorter than a word by table.
func plainLogString(s string) bool {
	if len(s) < 8 {
		for i := 0; i < len(s); i++ {
			if !plainLogByte[s[i]] {
				return false
			}
		}
		return true
	}
	for i := 0; i+8 < len(s); i += 8 {
		if !plainLogWord(loadWord(s[i : i+8])) {
			return false
		}
	}
	return plainLogWord(loadWord(s[len(s)-8:]))
}

// loadWord is the eight bytes of w as a little-endian word (the loads combine into one).
func loadWord(w string) uint64 {
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
}

// plainLogWord reports whether all eight bytes of w are plainLogByte ones: none at or above
// 0x80, none below 0x20, none '"' or '\\'. (x - 0x01…) &^ x has a byte's high bit set for some
// byte of x when, and only when, one is zero; below 0x20 is the same test against 0x20….
func plainLogWord(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	zero := func(x uint64) uint64 { return (x - ones) &^ x }
	bad := w | (w-0x20*ones)&^w | zero(w^'"'*ones) | zero(w^'\\'*ones)
	return bad&highs == 0
}

var plainLogByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// Request ids the edge makes are a random per-process prefix and a counter: unique without a
// call into the random source per request. (They are not secrets; a caller's own X-Request-Id
// is used when it sends one.)
var (
	requestIDPrefix [12]byte // six random bytes in hex
	requestIDSeq    atomic.Uint64
)

func init() {
	var raw [6]byte
	rand.Read(raw[:])
	hex.Encode(requestIDPrefix[:], raw[:])
}

// NewRequestID writes a 24-character hex request id into dst: the prefix, then the counter's
// low six bytes.
func NewRequestID(dst *[24]byte) {
	copy(dst[:12], requestIDPrefix[:])
	n := requestIDSeq.Add(1)
	for i := 22; i >= 12; i -= 2 { // a byte, two digits, a step
		dst[i], dst[i+1] = hexPairs[2*(n&0xff)], hexPairs[2*(n&0xff)+1]
		n >>= 8
	}
}

// hexPairs holds 00 to ff in lower-case hex, two bytes each.
var hexPairs = func() (t [512]byte) {
	const hexDigits = "0123456789abcdef"
	for i := range 256 {
		t[2*i], t[2*i+1] = hexDigits[i>>4], hexDigits[i&0xf]
	}
	return t
}()
