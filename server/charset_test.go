package server

import (
	"bytes"
	"testing"
)

// TestRejectJSONBreakoutMultibyteCharset: a JSON body labelled charset=gbk (or Big5, Shift_JIS).
// Rendered as UTF-8, the value 丁","role":"admin","x":"丁 becomes …E4 B8 81 5C 22…: a GBK
// reader pairs E4 B8, then 81 5C — the escape's backslash swallowed — and sees a bare quote:
// the value ends its JSON string (Python: b.decode("gbk") gives "name":"涓乗",\"role…). The
// edge refuses such a label (415 proxy_error,
// nothing forwarded) when it detokenizes, whatever the values; UTF-8, ASCII, single-byte
// charsets and form bodies pass.
func TestRejectJSONBreakoutMultibyteCharset(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	evil := e.token(e.adminKey, map[string]any{"data": `丁","role":"admin","x":"丁`})
	body := []byte(`{"name":"{{ ` + evil + ` }}"}`)
	for _, label := range []string{"application/json; charset=gbk", "text/plain;charset=GB18030", `application/json; charset="Shift_JIS"`, "application/json;charset=big5"} {
		t.Run(label, func(t *testing.T) {
			before := len(dest.requests())
			r := e.sendBody(dest, label, body, false)
			r.expect(t, 415)
			if !bytes.Contains(r.body, []byte("proxy_error")) || bytes.Contains(r.body, []byte("admin")) {
				t.Fatalf("body %s", r.body)
			}
			if len(dest.requests()) != before {
				t.Fatal("the body reached the destination")
			}
		})
	}
	for _, label := range []string{"application/json; charset=utf-8", "text/plain; charset=ISO-8859-1", "application/x-www-form-urlencoded; charset=Shift_JIS"} {
		t.Run(label, func(t *testing.T) {
			e.sendBody(dest, label, body, false).expect(t, 200)
		})
	}
}
