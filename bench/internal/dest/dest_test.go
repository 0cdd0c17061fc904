package dest

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestHandler(t *testing.T) {
	tests := []struct {
		name, path, body string
		want             []string
		ct               string
	}{
		{"charge", "/charge", `{"a":1}`, []string{string(Response)}, "application/json"},
		{"echo", "/proxy/echo", `{"n":"4242"}`, []string{"POST /proxy/echo HTTP/1.1", "X-Test: yes", `{"n":"4242"}`}, "text/plain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ctx fasthttp.RequestCtx
			ctx.Request.SetRequestURI(tt.path)
			ctx.Request.Header.SetMethod("POST")
			ctx.Request.Header.Set("X-Test", "yes")
			ctx.Request.SetBodyString(tt.body)
			Handler(&ctx)
			if ctx.Response.StatusCode() != 200 || string(ctx.Response.Header.ContentType()) != tt.ct {
				t.Fatalf("%d %s", ctx.Response.StatusCode(), ctx.Response.Header.ContentType())
			}
			for _, w := range tt.want {
				if !strings.Contains(string(ctx.Response.Body()), w) {
					t.Fatalf("answer lacks %q: %s", w, ctx.Response.Body())
				}
			}
		})
	}
}
