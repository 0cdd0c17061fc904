package server

import (
	"testing"
)

// BenchmarkAPITokenCreate and BenchmarkAPITokenGet measure the handler path (routing, auth,
// validation, sealing, audit) on an in-memory vault: no sockets, no fsync.
func BenchmarkAPITokenCreate(b *testing.B) {
	s := memServer(b)
	body := []byte(`{"type":"card","data":{"number":"4242424242424242","expiration_month":12,"expiration_year":2031}}`)
	b.ReportAllocs()
	for b.Loop() {
		if ctx := serveOne(s, "POST", "/tokens", body); ctx.Response.StatusCode() != 201 {
			b.Fatal(ctx.Response.StatusCode())
		}
	}
}

func BenchmarkAPITokenGet(b *testing.B) {
	s := memServer(b)
	ctx := serveOne(s, "POST", "/tokens", []byte(`{"id":"bench","type":"card_number","data":"4242424242424242"}`))
	if ctx.Response.StatusCode() != 201 {
		b.Fatal(string(ctx.Response.Body()))
	}
	b.ReportAllocs()
	for b.Loop() {
		if ctx := serveOne(s, "GET", "/tokens/bench", nil); ctx.Response.StatusCode() != 200 {
			b.Fatal(ctx.Response.StatusCode())
		}
	}
}
