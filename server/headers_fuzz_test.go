package server

import (
	"encoding/json"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/internal/expr"
)

// Fuzz tests of the small parsers of caller headers: Footprint ingress rules, the BT-ENCRYPTED
// alg label, the Content-Type → escaping context choice and the request id.

func FuzzIngressRules(f *testing.F) {
	for _, s := range []string{"card_number=$.card.number", "card_number=$.a, social_security_number=$.b[0]",
		"nonsense", "=", "token=$", "token=$..a", ",,,", "card=$['a.b']"} {
		f.Add(s, "json")
		f.Add(s, "xml")
	}
	f.Fuzz(func(t *testing.T, rule, ct string) {
		var h fasthttp.RequestHeader
		h.Set(fpIngressRule, rule)
		h.Set(fpIngressCT, ct)
		rules, err := ingressRules(&h)
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

func FuzzBodyContext(f *testing.F) {
	f.Add([]byte("Application/JSON; charset=utf-8"), []byte(`{"a":1}`))
	f.Add([]byte("text/plain"), []byte(`[1]`))
	f.Add([]byte("application/x-www-form-urlencoded"), []byte("a=1"))
	f.Fuzz(func(t *testing.T, ct, body []byte) {
		got := bodyContext(ct, body)
		if got != expr.JSON && got != expr.Form && got != expr.Text {
			t.Fatalf("context %v", got)
		}
		if got == expr.Text && len(body) > 0 && (body[0] == '{' || body[0] == '[') && validJSON(body) {
			t.Fatalf("a JSON body escaped as text: %q %q", ct, body)
		}
	})
}

func FuzzRequestID(f *testing.F) {
	f.Add([]byte("abc-123"))
	f.Add([]byte("has space"))
	f.Add([]byte("\r\ninjected"))
	f.Fuzz(func(t *testing.T, v []byte) {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetBytesV("X-Request-Id", v)
		var buf [128]byte
		id := requestID(&ctx, &buf)
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

func validJSON(b []byte) bool { return json.Valid(b) }
