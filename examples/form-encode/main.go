// Command form-encode is a request transform that turns a JSON object body
// into application/x-www-form-urlencoded, keeping the keys' order:
//
//	{"amount":10,"card":{"number":"4242…","cvc":"123"},"tags":["a","b"]}
//	→ amount=10&card%5Bnumber%5D=4242…&card%5Bcvc%5D=123&tags%5B0%5D=a&tags%5B1%5D=b
//
// Nested objects and arrays use the bracket style most payment APIs accept.
// Detokenization expressions ({{ … }}) inside values are copied verbatim, so
// the edge can still resolve (and form-encode) them afterwards.
package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/sluice-edge/sluice/transforms/sdk"
)

func init() { sdk.HandleRequest(formEncode) }

func formEncode(r *sdk.Request) error {
	body := r.Body()
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	out, err := encode(body)
	if err != nil {
		return sdk.BadRequestError("body must be a JSON object")
	}
	r.SetBody(out)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return nil
}

type encoder struct {
	dec *json.Decoder
	out []byte
}

func encode(body []byte) ([]byte, error) {
	e := &encoder{dec: json.NewDecoder(bytes.NewReader(body))}
	e.dec.UseNumber()
	t, err := e.dec.Token()
	if err != nil {
		return nil, err
	}
	if t != json.Delim('{') {
		return nil, io.ErrUnexpectedEOF
	}
	if err := e.object(""); err != nil {
		return nil, err
	}
	if _, err := e.dec.Token(); err != io.EOF {
		return nil, io.ErrUnexpectedEOF // trailing data
	}
	return e.out, nil
}

// object encodes the members of an object whose '{' was read, and its '}'.
func (e *encoder) object(prefix string) error {
	for e.dec.More() {
		t, err := e.dec.Token()
		if err != nil {
			return err
		}
		key, _ := t.(string)
		name := key
		if prefix != "" {
			name = prefix + "[" + key + "]"
		}
		if err := e.value(name); err != nil {
			return err
		}
	}
	_, err := e.dec.Token()
	return err
}

func (e *encoder) value(name string) error {
	t, err := e.dec.Token()
	if err != nil {
		return err
	}
	switch v := t.(type) {
	case json.Delim:
		if v == '{' {
			return e.object(name)
		}
		for i := 0; e.dec.More(); i++ {
			if err := e.value(name + "[" + strconv.Itoa(i) + "]"); err != nil {
				return err
			}
		}
		_, err := e.dec.Token()
		return err
	case string:
		e.pair(name, v)
	case json.Number:
		e.pair(name, v.String())
	case bool:
		e.pair(name, strconv.FormatBool(v))
	case nil:
		e.pair(name, "")
	}
	return nil
}

func (e *encoder) pair(name, value string) {
	if len(e.out) > 0 {
		e.out = append(e.out, '&')
	}
	e.out = appendEscaped(e.out, name)
	e.out = append(e.out, '=')
	e.out = appendEscaped(e.out, value)
}

// appendEscaped form-encodes s, copying {{ … }} expressions verbatim.
func appendEscaped(dst []byte, s string) []byte {
	for len(s) > 0 {
		i := strings.Index(s, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			break
		}
		dst = append(dst, url.QueryEscape(s[:i])...)
		dst = append(dst, s[i:i+j+2]...)
		s = s[i+j+2:]
	}
	return append(dst, url.QueryEscape(s)...)
}

func main() {}
