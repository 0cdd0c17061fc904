//go:build !wasip1

package sdk

import (
	"encoding/json"

	"github.com/sluice-edge/sluice/transforms/internal/abi"
)

// Outside wasip1 the SDK talks to this in-memory stand-in for the edge, so
// that transforms compile and vet on any platform and the SDK's own tests
// run natively. It mirrors the edge's checks; it is not goroutine-safe.
var fakeHost struct {
	head, body []byte
	config     map[string]string
	tokenize   func(typ string, data []byte) (string, error)
	response   bool // the call is a response phase
	args       []byte
	// http answers an http_request (the decoded request) with an encoded
	// response, or fails with code and a message.
	http func(method, url string, h Header, body []byte) (resp []byte, code int32, msg string)

	result     []byte
	writes     map[uint32][]byte
	status     int32
	endKind    uint32
	endPayload []byte
	logs       []string
}

func fakeReset() {
	f := &fakeHost
	f.result, f.writes, f.status, f.endKind, f.endPayload, f.logs = nil, map[uint32][]byte{}, 0, 0, nil, nil
}

func hostRead(what uint32, buf []byte) int32 {
	var src []byte
	switch what {
	case abi.WhatHead:
		src = fakeHost.head
	case abi.WhatBody:
		src = fakeHost.body
	case abi.WhatResult:
		src = fakeHost.result
	case abi.WhatArgs:
		src = fakeHost.args
	default:
		return abi.ErrInvalid
	}
	if len(src) <= len(buf) {
		copy(buf, src)
	}
	return int32(len(src))
}

func hostWrite(what uint32, b []byte) int32 {
	switch what {
	case abi.WhatBody:
	case abi.WhatReact:
		if !json.Valid(b) || b[0] != '{' { // the edge also checks the members
			return abi.ErrInvalid
		}
	case abi.WhatPath, abi.WhatQuery:
		if fakeHost.response {
			return abi.ErrNotAllowed
		}
		if what == abi.WhatPath && !abi.ValidPath(b) || what == abi.WhatQuery && !abi.ValidQuery(b) {
			return abi.ErrInvalid
		}
	case abi.WhatHeaders:
		r := abi.NewReader(b)
		n, _ := r.U32()
		for i := uint32(0); i < n; i++ {
			name, _ := r.Bytes()
			value, _ := r.Bytes()
			if r.Failed() || !abi.ValidHeaderName(name) || !abi.ValidHeaderValue(value) {
				return abi.ErrInvalid
			}
		}
		if r.Failed() || len(r.Rest()) != 0 {
			return abi.ErrInvalid
		}
	default:
		return abi.ErrInvalid
	}
	if fakeHost.writes == nil {
		fakeHost.writes = map[uint32][]byte{}
	}
	fakeHost.writes[what] = append([]byte(nil), b...)
	return abi.OK
}

func hostSetStatus(status int32) int32 {
	if !fakeHost.response {
		return abi.ErrNotAllowed
	}
	if !abi.ValidStatus(int64(status)) {
		return abi.ErrInvalid
	}
	fakeHost.status = status
	return abi.OK
}

func hostConfig(name string, buf []byte) int32 {
	v, ok := fakeHost.config[name]
	if !ok {
		return abi.ErrNotFound
	}
	if len(v) <= len(buf) {
		copy(buf, v)
	}
	return int32(len(v))
}

func hostTokenize(typ string, data, out []byte) int32 {
	if fakeHost.tokenize == nil {
		fakeHost.result = []byte("tokenize is not available here")
		return abi.ErrFailed
	}
	id, err := fakeHost.tokenize(typ, data)
	if err != nil {
		fakeHost.result = []byte("tokenize failed: " + err.Error())
		return abi.ErrFailed
	}
	fakeHost.result = []byte(id)
	if len(id) <= len(out) {
		copy(out, id)
	}
	return int32(len(id))
}

func hostEnd(kind uint32, payload []byte) int32 {
	if kind == abi.KindCustomResponse {
		r := abi.NewReader(payload)
		if s, ok := r.U32(); !ok || !abi.ValidStatus(int64(s)) {
			return abi.ErrInvalid
		}
	} else if kind < 1 || kind > abi.KindReactorRuntimeError {
		return abi.ErrInvalid
	}
	fakeHost.endKind, fakeHost.endPayload = kind, append([]byte(nil), payload...)
	return abi.OK
}

func hostLog(msg string) { fakeHost.logs = append(fakeHost.logs, msg) }

func hostHTTP(req, out []byte) int32 {
	if fakeHost.http == nil {
		fakeHost.result = []byte("http_request is not available here")
		return abi.ErrNotAllowed
	}
	r := abi.NewReader(req)
	method, _ := r.Bytes()
	url, _ := r.Bytes()
	n, _ := r.U32()
	var h Header
	for i := uint32(0); i < n && !r.Failed(); i++ {
		name, _ := r.Bytes()
		value, _ := r.Bytes()
		h.Add(string(name), string(value))
	}
	if r.Failed() {
		fakeHost.result = []byte("http_request refused: malformed encoding")
		return abi.ErrInvalid
	}
	resp, code, msg := fakeHost.http(string(method), string(url), h, r.Rest())
	if code != abi.OK {
		fakeHost.result = []byte(msg)
		return code
	}
	fakeHost.result = resp
	if len(resp) <= len(out) {
		copy(out, resp)
	}
	return int32(len(resp))
}
