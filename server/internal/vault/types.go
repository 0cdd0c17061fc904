package vault

// The token types of SPEC §4: how each is validated, its default container, default mask, card
// summary and fingerprint input. Pure: no storage.
//
// Validation errors name the field but never quote its value, so they are safe to return to
// callers and to log.

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Token types.
const (
	TypeToken       = "token"
	TypeCard        = "card"
	TypeCardNumber  = "card_number"
	TypeBank        = "bank"
	TypeSSN         = "social_security_number"
	TypeRouting     = "us_bank_routing_number"
	TypeBankAccount = "us_bank_account_number"
	TypeEIN         = "employer_id_number"
)

// cvcLifetime is how long a card's cvc is kept.
const cvcLifetime = time.Hour

// FieldError is a validation failure of one field. Message never contains the value.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return "vault: " + e.Field + ": " + e.Message }

func fieldErr(field, msg string) *FieldError { return &FieldError{Field: field, Message: msg} }

// Known reports whether typ is a token type.
func Known(typ string) bool {
	switch typ {
	case TypeToken, TypeCard, TypeCardNumber, TypeBank, TypeSSN, TypeEIN, TypeRouting, TypeBankAccount:
		return true
	}
	return false
}

// defaultContainers returns the container a token of typ lands in when none is given.
func defaultContainers(typ string) []string {
	switch typ {
	case TypeCard, TypeCardNumber:
		return []string{"/pci/high/"}
	case TypeBank, TypeBankAccount:
		return []string{"/bank/high/"}
	case TypeRouting:
		return []string{"/bank/low/"}
	case TypeSSN, TypeEIN:
		return []string{"/pii/high/"}
	}
	return []string{"/general/high/"}
}

var containerRe = regexp.MustCompile(`^(/[A-Za-z0-9_-]{1,64}){1,8}/$`)

// ValidContainer reports whether c has the form /segment/…/.
func ValidContainer(c string) bool { return containerRe.MatchString(c) }

// Bounds of a custom token id, Basis Theory's. An expression names ids up to expr.MaxIDLen, which
// must not be shorter (TestEveryValidIDFitsAnExpression).
const (
	minIDLen = 3
	maxIDLen = 400
)

// idForbidden are the bytes Basis Theory refuses in a custom id.
const idForbidden = `#/\+?[]|&=%<>{}^`

// idRule describes ValidID to a caller whose id it refused.
var idRule = strconv.Itoa(minIDLen) + "-" + strconv.Itoa(maxIDLen) + " bytes of UTF-8 without control characters, " +
	"whitespace at either end or any of " + idForbidden

// ValidID reports whether id can name a token: Basis Theory's rule (3–400 bytes, none of
// # / \ + ? [ ] | & = % < > { } ^), valid UTF-8, no control character and no whitespace at
// either end.
func ValidID(id string) bool {
	if len(id) < minIDLen || len(id) > maxIDLen || !utf8.ValidString(id) || strings.ContainsAny(id, idForbidden) {
		return false
	}
	for _, r := range id {
		if unicode.IsControl(r) {
			return false
		}
	}
	first, _ := utf8.DecodeRuneInString(id)
	last, _ := utf8.DecodeLastRuneInString(id)
	return !unicode.IsSpace(first) && !unicode.IsSpace(last)
}

// validate checks data against typ. It returns the data to store and, for cards, the fields that
// are kept only for cvcLifetime (split out so the vault can expire them on their own).
// now is the reference time for card expiry.
func validate(typ string, data json.RawMessage, now time.Time) (keep json.RawMessage, ephemeral map[string]json.RawMessage, err *FieldError) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		return nil, nil, fieldErr("data", "is required")
	}
	if !json.Valid(data) {
		return nil, nil, fieldErr("data", "is not valid JSON")
	}
	switch typ {
	case TypeToken:
		return data, nil, nil
	case TypeCardNumber:
		s, ferr := str(data, "data")
		if ferr != nil {
			return nil, nil, ferr
		}
		if ferr := checkPAN(s, "data"); ferr != nil {
			return nil, nil, ferr
		}
		return data, nil, nil
	case TypeSSN:
		s, ferr := str(data, "data")
		if ferr != nil {
			return nil, nil, ferr
		}
		if !validSSN(s) {
			return nil, nil, fieldErr("data", "must be a valid social security number (###-##-####)")
		}
		return data, nil, nil
	case TypeEIN:
		s, ferr := str(data, "data")
		if ferr != nil {
			return nil, nil, ferr
		}
		if !validEIN(s) {
			return nil, nil, fieldErr("data", "must be an employer identification number (##-#######)")
		}
		return data, nil, nil
	case TypeRouting:
		s, ferr := str(data, "data")
		if ferr != nil {
			return nil, nil, ferr
		}
		if !validRouting(s) {
			return nil, nil, fieldErr("data", "must be a 9-digit ABA routing number with a valid checksum")
		}
		return data, nil, nil
	case TypeBankAccount:
		s, ferr := str(data, "data")
		if ferr != nil {
			return nil, nil, ferr
		}
		if !validAccount(s) {
			return nil, nil, fieldErr("data", "must be 4 to 17 digits")
		}
		return data, nil, nil
	case TypeBank:
		return validateBank(data)
	case TypeCard:
		return validateCard(data, now)
	}
	return nil, nil, fieldErr("type", "is not a known token type")
}

func str(raw json.RawMessage, field string) (string, *FieldError) {
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", fieldErr(field, "must be a string")
	}
	return s, nil
}

func object(raw json.RawMessage) (map[string]json.RawMessage, *FieldError) {
	var m map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &m) != nil {
		return nil, fieldErr("data", "must be an object")
	}
	return m, nil
}

func validateCard(data json.RawMessage, now time.Time) (json.RawMessage, map[string]json.RawMessage, *FieldError) {
	m, ferr := object(data)
	if ferr != nil {
		return nil, nil, ferr
	}
	for k := range m {
		switch k {
		case "number", "expiration_month", "expiration_year", "cvc":
		default:
			return nil, nil, fieldErr("data."+k, "is not a card field")
		}
	}
	num, ok := m["number"]
	if !ok {
		return nil, nil, fieldErr("data.number", "is required")
	}
	s, ferr := str(num, "data.number")
	if ferr != nil {
		return nil, nil, ferr
	}
	if ferr := checkPAN(s, "data.number"); ferr != nil {
		return nil, nil, ferr
	}
	month, hasMonth, ferr := intField(m, "expiration_month")
	if ferr != nil {
		return nil, nil, ferr
	}
	year, hasYear, ferr := intField(m, "expiration_year")
	if ferr != nil {
		return nil, nil, ferr
	}
	if hasMonth != hasYear {
		if !hasMonth {
			return nil, nil, fieldErr("data.expiration_month", "is required with expiration_year")
		}
		return nil, nil, fieldErr("data.expiration_year", "is required with expiration_month")
	}
	if hasMonth && (month < 1 || month > 12) {
		return nil, nil, fieldErr("data.expiration_month", "must be between 1 and 12")
	}
	if hasYear {
		if year < 1000 || year > 9999 {
			return nil, nil, fieldErr("data.expiration_year", "must be a four-digit year")
		}
		y, mo := now.Year(), int(now.Month())
		if year < y || (year == y && month < mo) {
			return nil, nil, fieldErr("data.expiration_year", "is in the past")
		}
	}
	var eph map[string]json.RawMessage
	if cvc, ok := m["cvc"]; ok {
		s, ferr := str(cvc, "data.cvc")
		if ferr != nil {
			return nil, nil, ferr
		}
		if len(s) < 3 || len(s) > 4 || !digits(s) {
			return nil, nil, fieldErr("data.cvc", "must be 3 or 4 digits")
		}
		delete(m, "cvc")
		eph = map[string]json.RawMessage{"cvc": cvc}
	}
	keep, _ := json.Marshal(m)
	return keep, eph, nil
}

func intField(m map[string]json.RawMessage, name string) (int, bool, *FieldError) {
	raw, ok := m[name]
	if !ok {
		return 0, false, nil
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil {
		return 0, true, fieldErr("data."+name, "must be an integer")
	}
	return n, true, nil
}

func validateBank(data json.RawMessage) (json.RawMessage, map[string]json.RawMessage, *FieldError) {
	m, ferr := object(data)
	if ferr != nil {
		return nil, nil, ferr
	}
	for k := range m {
		if k != "routing_number" && k != "account_number" {
			return nil, nil, fieldErr("data."+k, "is not a bank field")
		}
	}
	for _, f := range []string{"routing_number", "account_number"} {
		raw, ok := m[f]
		if !ok {
			return nil, nil, fieldErr("data."+f, "is required")
		}
		s, ferr := str(raw, "data."+f)
		if ferr != nil {
			return nil, nil, ferr
		}
		if f == "routing_number" && !validRouting(s) {
			return nil, nil, fieldErr("data.routing_number", "must be a 9-digit ABA routing number with a valid checksum")
		}
		if f == "account_number" && !validAccount(s) {
			return nil, nil, fieldErr("data.account_number", "must be 4 to 17 digits")
		}
	}
	return data, nil, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func checkPAN(s, field string) *FieldError {
	if len(s) < 13 || len(s) > 19 || !digits(s) {
		return fieldErr(field, "must be 13 to 19 digits")
	}
	if !Luhn(s) {
		return fieldErr(field, "fails the Luhn check")
	}
	return nil
}

// Luhn reports whether the digit string s passes the Luhn checksum.
func Luhn(s string) bool {
	sum, double := 0, false
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

func validRouting(s string) bool {
	if len(s) != 9 || !digits(s) {
		return false
	}
	w := [9]int{3, 7, 1, 3, 7, 1, 3, 7, 1}
	sum := 0
	for i := range 9 {
		sum += int(s[i]-'0') * w[i]
	}
	return sum%10 == 0
}

func validAccount(s string) bool { return len(s) >= 4 && len(s) <= 17 && digits(s) }

// validSSN follows the SSA's rules: ###-##-#### or 9 digits, area not 000, 666 or 9xx, group not
// 00, serial not 0000.
func validSSN(s string) bool {
	if len(s) == 11 && s[3] == '-' && s[6] == '-' {
		s = s[:3] + s[4:6] + s[7:]
	}
	if len(s) != 9 || !digits(s) {
		return false
	}
	area, group, serial := s[:3], s[3:5], s[5:]
	return area != "000" && area != "666" && area[0] != '9' && group != "00" && serial != "0000"
}

// validEIN accepts the IRS's form ##-####### or its 9 digits.
func validEIN(s string) bool {
	if len(s) == 10 && s[2] == '-' {
		s = s[:2] + s[3:]
	}
	return len(s) == 9 && digits(s)
}

// Card is the non-secret summary returned with card tokens.
type Card struct {
	Bin             string `json:"bin"`
	Last4           string `json:"last4"`
	Brand           string `json:"brand"`
	ExpirationMonth int    `json:"expiration_month,omitempty"`
	ExpirationYear  int    `json:"expiration_year,omitempty"`
}

// summary returns the card summary of a card or card_number token's data, or nil.
func summary(typ string, data json.RawMessage) *Card {
	var pan string
	c := &Card{}
	switch typ {
	case TypeCardNumber:
		if json.Unmarshal(data, &pan) != nil {
			return nil
		}
	case TypeCard:
		var d struct {
			Number string `json:"number"`
			Month  int    `json:"expiration_month"`
			Year   int    `json:"expiration_year"`
		}
		if json.Unmarshal(data, &d) != nil {
			return nil
		}
		pan, c.ExpirationMonth, c.ExpirationYear = d.Number, d.Month, d.Year
	default:
		return nil
	}
	if len(pan) < 13 {
		return nil
	}
	c.Bin, c.Last4, c.Brand = pan[:6], pan[len(pan)-4:], cardBrand(pan)
	return c
}

// Bank is the non-secret summary returned with bank tokens, as Basis Theory's.
type Bank struct {
	RoutingNumber      string `json:"routing_number"`
	AccountNumberLast4 string `json:"account_number_last4"`
}

// bankSummary returns the summary of a bank token's data, or nil.
func bankSummary(typ string, data json.RawMessage) *Bank {
	if typ != TypeBank {
		return nil
	}
	var d struct {
		R string `json:"routing_number"`
		A string `json:"account_number"`
	}
	if json.Unmarshal(data, &d) != nil || len(d.A) < 4 {
		return nil
	}
	return &Bank{RoutingNumber: d.R, AccountNumberLast4: d.A[len(d.A)-4:]}
}

// cardBrand names the card network of pan by its IIN ranges.
func cardBrand(pan string) string {
	p := func(n int) int {
		if len(pan) < n {
			return -1
		}
		v, _ := strconv.Atoi(pan[:n])
		return v
	}
	switch {
	case pan[0] == '4':
		return "visa"
	case p(2) >= 51 && p(2) <= 55, p(4) >= 2221 && p(4) <= 2720:
		return "mastercard"
	case p(2) == 34, p(2) == 37:
		return "american-express"
	case p(4) == 6011, p(2) == 65, p(3) >= 644 && p(3) <= 649:
		return "discover"
	case p(4) >= 3528 && p(4) <= 3589:
		return "jcb"
	case p(2) == 36, p(2) == 38, p(2) == 39, p(3) >= 300 && p(3) <= 305:
		return "diners-club"
	case p(2) == 62:
		return "unionpay"
	case p(2) == 50, p(2) >= 56 && p(2) <= 69:
		return "maestro"
	}
	return "unknown"
}

// fingerprintInput is the canonical value a token's default fingerprint hashes: the value that
// identifies the underlying secret, not its presentation.
func fingerprintInput(typ string, data json.RawMessage) []byte {
	switch typ {
	case TypeCard:
		var d struct {
			Number string `json:"number"`
		}
		json.Unmarshal(data, &d)
		return []byte(d.Number)
	case TypeBank:
		var d struct {
			R string `json:"routing_number"`
			A string `json:"account_number"`
		}
		json.Unmarshal(data, &d)
		return []byte(d.R + "|" + d.A)
	case TypeSSN, TypeEIN:
		var s string
		json.Unmarshal(data, &s)
		return bytes.ReplaceAll([]byte(s), []byte("-"), nil)
	case TypeCardNumber, TypeRouting, TypeBankAccount:
		var s string
		json.Unmarshal(data, &s)
		return []byte(s)
	}
	var buf bytes.Buffer
	if json.Compact(&buf, data) != nil {
		return data
	}
	return buf.Bytes()
}

// defaultMask is data under its type's default mask, Basis Theory's: strings keep their last
// four letters or digits (and their separators) when they have more than four; a card keeps its
// expiry and loses its cvc; a bank account keeps its routing number; a routing number is shown
// whole. A token of type token has no default mask: nil, no data at all. Numbers are masked as
// strings of their digits.
func defaultMask(typ string, data json.RawMessage) json.RawMessage {
	switch typ {
	case TypeToken:
		return nil
	case TypeRouting:
		return data
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if d.Decode(&v) != nil {
		return json.RawMessage(`null`)
	}
	if m, ok := v.(map[string]any); ok && (typ == TypeCard || typ == TypeBank) {
		if typ == TypeCard {
			delete(m, "cvc")
		}
		for k, x := range m {
			if !shownByDefault(typ, k) {
				m[k] = maskAny(x)
			}
		}
		out, _ := json.Marshal(m)
		return out
	}
	out, _ := json.Marshal(maskAny(v))
	return out
}

// shownByDefault reports whether field k of a typ token is shown whole by the default mask.
func shownByDefault(typ, k string) bool {
	switch typ {
	case TypeCard:
		return k == "expiration_month" || k == "expiration_year"
	case TypeBank:
		return k == "routing_number"
	}
	return false
}

func maskAny(v any) any {
	switch x := v.(type) {
	case string:
		return maskString(x)
	case json.Number:
		return maskString(x.String())
	case map[string]any:
		for k, e := range x {
			x[k] = maskAny(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = maskAny(e)
		}
		return x
	}
	return v
}

// maskString replaces letters and digits of s with 'X', leaving the last four visible when s has
// more than four; other characters (separators) stay.
func maskString(s string) string {
	rs := []rune(s)
	alnum := 0
	for _, r := range rs {
		if isAlnum(r) {
			alnum++
		}
	}
	show := 0
	if alnum > 4 {
		show = 4
	}
	for i := len(rs) - 1; i >= 0; i-- {
		if !isAlnum(rs[i]) {
			continue
		}
		if show > 0 {
			show--
			continue
		}
		rs[i] = 'X'
	}
	return string(rs)
}

func isAlnum(r rune) bool {
	return (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || r > 127
}
