package proxy

import (
	"bufio"
	"bytes"
	"strconv"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/server/internal/edge"
)

// streamedRequest reads a request with body as fasthttp's server does with StreamRequestBody:
// the body behind a stream, read ahead by up to 8 KiB. send bytes of it arrive, of announced.
func streamedRequest(t testing.TB, rc *fasthttp.RequestCtx, body []byte, announced int) {
	raw := "POST /proxy/x HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(announced) + "\r\n\r\n"
	br := bufio.NewReader(bytes.NewReader(append([]byte(raw), body...)))
	if err := rc.Request.Header.Read(br); err != nil {
		t.Fatal(err)
	}
	if err := rc.Request.ContinueReadBodyStream(br, 1<<20); err != nil {
		t.Skip("fasthttp refuses the request before the handler") // a short body within its read-ahead
	}
}

// writtenRequest is req as the client would send it.
func writtenRequest(t testing.TB, req *fasthttp.Request) []byte {
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	if err := req.Write(w); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	return out.Bytes()
}

// FuzzOwnBodyAgreesWithRequestBody: the caller's body read by readOwnBody and made the request's
// by setRequestBody is what fasthttp's Request.Body reads, and the request goes out byte for byte
// as it does when the body is fasthttp's; a body cut short is an error where Request.Body
// answers a body of another length.
func FuzzOwnBodyAgreesWithRequestBody(f *testing.F) {
	f.Add([]byte(`{"a":"{{ id }}"}`), 0, false)
	f.Add(bytes.Repeat([]byte("x"), 9000), 0, false)
	f.Add(bytes.Repeat([]byte("y"), 20000), 7000, false)
	f.Add([]byte("abc"), 1, true)
	f.Fuzz(func(t *testing.T, body []byte, cut int, rendered bool) {
		if len(body) == 0 || len(body) > maxOwnBody {
			return
		}
		cut = min(max(cut, 0), len(body)-1)
		announced, sent := len(body), body[:len(body)-cut]

		var ref fasthttp.RequestCtx
		streamedRequest(t, &ref, sent, announced)
		want := ref.Request.Body()

		var rc fasthttp.RequestCtx
		streamedRequest(t, &rc, sent, announced)
		x := &exchange{c: &edge.Call{RC: &rc}}
		got, err := x.readOwnBody(rc.RequestBodyStream(), announced)
		if cut > 0 {
			if err == nil {
				t.Fatalf("a body cut short by %d of %d bytes was read", cut, announced)
			}
			if len(want) == announced {
				t.Fatalf("Request.Body read a body cut short whole")
			}
			return
		}
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("own body %q (%v), Request.Body %q", got, err, want)
		}
		out := got
		if rendered {
			out = append([]byte(`{"r":1}`), got...) // a rendered body: another buffer
		}
		setRequestBody(x, &rc.Request, out)
		ref.Request.SetBody(out)
		if a, b := writtenRequest(t, &rc.Request), writtenRequest(t, &ref.Request); !bytes.Equal(a, b) {
			t.Fatalf("sent\n%q\nwant\n%q", a, b)
		}
	})
}
