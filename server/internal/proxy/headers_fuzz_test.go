package proxy

import (
	"bufio"
	"bytes"
	"sort"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/internal/expr"
	"github.com/sluice-edge/sluice/server/internal/edge"
)

// Fuzz tests of the small parsers of caller headers: Footprint ingress rules, the Content-Type →
// escaping context choice, the request id, and the in-place editing of request and response
// headers. (The BT-ENCRYPTED alg label is fuzzed in jwe, which reports it.)

func FuzzIngressRules(f *testing.F) {
	for _, s := range []string{"card_number=$.card.number", "card_number=$.a, social_security_number=$.b[0]",
		"nonsense", "=", "token=$", "token=$..a", ",,,", "card=$['a.b']",
		"fp_id_1.card.primary.number=$.card", "fp_id_1.id.dob=$.a=b", ".x=$.a", "t..x=$.a", "t.x.=$.a", "t.x y=$.a"} {
		f.Add(s, "json")
		f.Add(s, "xml")
	}
	f.Fuzz(func(t *testing.T, rule, ct string) {
		var h fasthttp.RequestHeader
		h.Set(fpIngressRule, rule)
		h.Set(fpIngressCT, ct)
		rules, fields, err := ingressRules(&h, nil)
		for _, r := range fields {
			if err != nil || !expr.ValidID([]byte(r.token)) || r.field == "" {
				t.Fatalf("bad field rule accepted: %+v", r)
			}
			if _, perr := jsonPath(r.location); perr != nil {
				t.Fatalf("rule with invalid location accepted: %q", r.location)
			}
		}
		for _, r := range rules {
			if err != nil || r.Type != "tokenize" || r.Options == nil || r.Options.Token == nil {
				t.Fatalf("bad rule accepted: %+v", r)
			}
			if _, perr := jsonPath(r.Options.Location); perr != nil {
				t.Fatalf("rule with invalid location accepted: %q", r.Options.Location)
			}
		}
	})
}

// FuzzBodyContext: no label makes a body plain text: JSON types are JSON, form is form, and
// anything else is a Body, where JSON strings are found from the bytes.
func FuzzBodyContext(f *testing.F) {
	f.Add([]byte("Application/JSON; charset=utf-8"))
	f.Add([]byte("text/plain"))
	f.Add([]byte("application/x-www-form-urlencoded"))
	f.Add([]byte("application/x-ndjson"))
	f.Fuzz(func(t *testing.T, ct []byte) {
		got := bodyContext(ct)
		if got != expr.JSON && got != expr.Form && got != expr.Body {
			t.Fatalf("context %v", got)
		}
		mt, _, _ := strings.Cut(strings.ToLower(string(ct)), ";")
		if _, sub, _ := strings.Cut(mt, "/"); strings.Contains(sub, "json") && got != expr.JSON {
			t.Fatalf("a JSON type not rendered as JSON: %q", ct)
		}
	})
}

func FuzzRequestID(f *testing.F) {
	f.Add([]byte("abc-123"))
	f.Add([]byte("has space"))
	f.Add([]byte("\r\ninjected"))
	f.Fuzz(func(t *testing.T, v []byte) {
		var rc fasthttp.RequestCtx
		rc.Request.Header.SetBytesV("X-Request-Id", v)
		var buf [128]byte
		id := edge.RequestID(&rc, &buf)
		if len(id) == 0 || len(id) > 128 {
			t.Fatalf("request id %q", id)
		}
		for i := 0; i < len(id); i++ {
			if id[i] <= 0x20 || id[i] >= 0x7f {
				t.Fatalf("request id %q has a control or non-ASCII byte", id)
			}
		}
	})
}

// FuzzStripHeaders: whatever header block a caller or a destination sends, editing it in place
// never leaves a header that must not cross, and for requests gives what copying gives.
func FuzzStripHeaders(f *testing.F) {
	f.Add("BT-API-KEY: k\r\nConnection: X-Hop, keep-alive\r\nX-Hop: 1\r\nX-A: 1\r\nX-A: 2\r\nBT-PROXY-KEEP-ALIVE: t=5\r\n")
	f.Add("Bt-Proxy-Url: u\r\nbt-api-key: k\r\nTE: trailers\r\nUpgrade: h2c\r\nX-Footprint-Secret-Key: s\r\nCookie: a=b\r\n")
	f.Add("Keep-Alive: timeout=5\r\nLink: <a>\r\nLink: <b>\r\nBT-PROXY-DESTINATION-STATUS: 999\r\nTrailer: X-T\r\n")
	f.Fuzz(func(t *testing.T, block string) {
		var req fasthttp.Request
		raw := "POST /proxy HTTP/1.1\r\nHost: x\r\n" + block + "\r\nContent-Length: 0\r\n\r\n"
		if req.Read(bufio.NewReader(strings.NewReader(raw))) == nil {
			var copied fasthttp.RequestHeader
			copyRequestHeaders(&copied, &req.Header)
			ok, err := stripRequestHeaders(&req.Header)
			if ok && err == nil {
				for k := range req.Header.All() {
					if skipForward(k) && !bytes.EqualFold(k, []byte("Keep-Alive")) && !bytes.EqualFold(k, []byte("Connection")) &&
						!bytes.EqualFold(k, []byte("Host")) && !bytes.EqualFold(k, []byte("Content-Length")) {
						t.Fatalf("%s left in place", k)
					}
				}
				if a, b := headerSet(&req.Header), headerSet(&copied); a != b {
					t.Fatalf("in place %q, copied %q", a, b)
				}
			}
		}
		var resp fasthttp.Response
		rawResp := "HTTP/1.1 200 OK\r\n" + block + "\r\nContent-Length: 0\r\n\r\n"
		if resp.Read(bufio.NewReader(strings.NewReader(rawResp))) == nil {
			conn := bytes.Clone(resp.Header.Peek("Connection"))
			if err := stripResponseHeaders(&resp.Header); err == nil {
				for k := range resp.Header.All() {
					if dropResponseHeader(k, conn) {
						t.Fatalf("response header %s left", k)
					}
				}
			}
		}
	})
}

// headerSet is a request header's names and values, sorted, minus what sending sets itself.
func headerSet(h *fasthttp.RequestHeader) string {
	var kv []string
	for k, v := range h.All() {
		if bytes.EqualFold(k, []byte("Host")) || bytes.EqualFold(k, []byte("Content-Length")) {
			continue
		}
		kv = append(kv, string(k)+": "+string(v))
	}
	sort.Strings(kv)
	return strings.Join(kv, "\n")
}
