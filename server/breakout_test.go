package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-edge/sluice/server/internal/proxy"
)

// injection is a token value that, pasted into a JSON string unescaped, adds a "role" key.
const injection = `Robert","role":"admin","x":"`

// sendBody posts body to /proxy (ephemeral, to dest) with label as its Content-Type ("" sends
// none), chunked or with a Content-Length.
func (e *testEdge) sendBody(dest *destination, label string, body []byte, chunked bool, hdr ...string) *resp {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.base+"/proxy", bytes.NewReader(body))
	if chunked {
		req.ContentLength = -1 // unknown: net/http sends Transfer-Encoding: chunked
	}
	if label != "" {
		req.Header.Set("Content-Type", label)
	}
	req.Header.Set("BT-API-KEY", e.adminKey)
	req.Header.Set("BT-PROXY-URL", dest.url)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		e.t.Fatalf("POST /proxy: %v", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &resp{status: res.StatusCode, header: res.Header, body: b}
}

// jsonKeys decodes every JSON value of b (one document, or one per line) and returns the sorted
// keys of each object; it fails the test unless b is nothing but JSON objects.
func jsonKeys(t *testing.T, b []byte) [][]string {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	var all [][]string
	for {
		var m map[string]any
		err := d.Decode(&m)
		if err == io.EOF {
			return all
		}
		if err != nil {
			t.Fatalf("the destination got invalid JSON (%v): %.300s", err, b)
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		all = append(all, keys)
	}
}

// expectSameJSON fails unless what reached dest is JSON with exactly want's keys per document,
// and the "name" of each is the injection, whole, as a string.
func expectSameJSON(t *testing.T, dest *destination, want [][]string) {
	t.Helper()
	got := dest.last(t).body
	if keys := jsonKeys(t, got); !reflect.DeepEqual(keys, want) {
		t.Fatalf("the destination got keys %v, want %v: %.300s", keys, want, got)
	}
	d := json.NewDecoder(bytes.NewReader(got))
	for d.More() {
		var m map[string]any
		d.Decode(&m)
		if m["name"] != injection {
			t.Fatalf("name is %q, want the token's value", m["name"])
		}
	}
}

// breakoutEdge is an edge and destination with a token holding the injection and one holding 42.
func breakoutEdge(t *testing.T) (e *testEdge, dest *destination, evil, age string) {
	dest = startDestination(t)
	e = proxyEdge(t, dest)
	return e, dest, e.token(e.adminKey, map[string]any{"data": injection}), e.token(e.adminKey, map[string]any{"data": 42})
}

// TestRejectJSONBreakoutTextPlain: a JSON body labelled text/plain (what fetch sends for a
// string body), here with an unquoted expression so that it is not a JSON document before it is
// rendered: the value inside the JSON string stays inside it.
func TestRejectJSONBreakoutTextPlain(t *testing.T) {
	t.Parallel()
	e, dest, evil, age := breakoutEdge(t)
	body := `{"name":"{{ ` + evil + ` }}","age":{{ ` + age + ` }}}`
	for _, label := range []string{"text/plain", "text/plain;charset=UTF-8", "application/octet-stream"} {
		t.Run(label, func(t *testing.T) {
			e.sendBody(dest, label, []byte(body), false).expect(t, 200)
			expectSameJSON(t, dest, [][]string{{"age", "name"}})
		})
	}
}

// TestRejectJSONBreakoutUnlabelled: the same with no Content-Type at all.
func TestRejectJSONBreakoutUnlabelled(t *testing.T) {
	t.Parallel()
	e, dest, evil, age := breakoutEdge(t)
	body := `{"name":"{{ ` + evil + ` }}","age":{{ ` + age + ` }}}`
	e.sendBody(dest, "", []byte(body), false).expect(t, 200)
	expectSameJSON(t, dest, [][]string{{"age", "name"}})
}

// TestRejectJSONBreakoutChunkedTextPlain: a JSON document sent chunked, labelled text/plain or
// not at all. It is also read whole (it is small): the destination gets it with a Content-Length.
func TestRejectJSONBreakoutChunkedTextPlain(t *testing.T) {
	t.Parallel()
	e, dest, evil, _ := breakoutEdge(t)
	body := `{"name":"{{ ` + evil + ` }}","role":"user"}`
	for _, label := range []string{"text/plain", "", "application/json"} {
		t.Run("label="+label, func(t *testing.T) {
			e.sendBody(dest, label, []byte(body), true).expect(t, 200)
			expectSameJSON(t, dest, [][]string{{"name", "role"}})
			var m map[string]any
			json.Unmarshal(dest.last(t).body, &m)
			if m["role"] != "user" {
				t.Fatalf("role is %v", m["role"])
			}
			if cl := dest.last(t).header.Get("Content-Length"); cl != strconv.Itoa(len(dest.last(t).body)) {
				t.Fatalf("a small chunked body was not read whole: Content-Length %q", cl)
			}
		})
	}
}

// TestRejectJSONBreakoutStreamedOverWholeBodyLimit: a JSON body larger than the whole-body
// limit streams; with the expressions on both sides of it (and so across the stream's chunks),
// labelled text/plain, with a Content-Length or chunked.
func TestRejectJSONBreakoutStreamedOverWholeBodyLimit(t *testing.T) {
	t.Parallel()
	e, dest, evil, _ := breakoutEdge(t)
	const unit = `x\"{\\` // an escaped quote, a brace, an escaped backslash: all still in the string
	pad := strings.Repeat(unit, proxy.BufferLimit/len(unit)+1000)
	body := []byte(`{"name":"{{ ` + evil + ` }}","pad":"` + pad + `","tail":"x{{ ` + evil + ` | upcase }}"}`)
	if len(body) <= proxy.BufferLimit {
		t.Fatal("fixture too small")
	}
	for _, chunked := range []bool{false, true} {
		t.Run("chunked="+strconv.FormatBool(chunked), func(t *testing.T) {
			e.sendBody(dest, "text/plain", body, chunked).expect(t, 200)
			expectSameJSON(t, dest, [][]string{{"name", "pad", "tail"}})
			var m map[string]any
			json.Unmarshal(dest.last(t).body, &m)
			if m["tail"] != "x"+strings.ToUpper(injection) || m["pad"] != strings.Repeat(`x"{\`, proxy.BufferLimit/len(unit)+1000) {
				t.Fatalf("tail %q, pad of %d bytes", m["tail"], len(m["pad"].(string)))
			}
		})
	}
}

// TestRejectJSONBreakoutNDJSON: newline-delimited JSON is JSON: each line keeps its keys.
func TestRejectJSONBreakoutNDJSON(t *testing.T) {
	t.Parallel()
	e, dest, evil, age := breakoutEdge(t)
	body := "{\"name\":\"{{ " + evil + " }}\"}\n{\"age\":{{ " + age + " }},\"name\":\"Mr {{ " + evil + " | json: '$' }}\"}\n"
	for _, label := range []string{"application/x-ndjson", "application/jsonl", "application/json-seq"} {
		t.Run(label, func(t *testing.T) {
			e.sendBody(dest, label, []byte(body), false).expect(t, 200)
			got := dest.last(t).body
			if keys := jsonKeys(t, got); !reflect.DeepEqual(keys, [][]string{{"name"}, {"age", "name"}}) {
				t.Fatalf("keys %v: %s", keys, got)
			}
			if !strings.Contains(string(got), `"Mr Robert\",\"role`) {
				t.Fatalf("value not escaped: %s", got)
			}
		})
	}
}

// TestRejectJSONBreakoutInHeader: a header whose value is JSON (Dropbox-API-Arg style) keeps a
// value inside its string; the destination gets JSON with the template's keys.
func TestRejectJSONBreakoutInHeader(t *testing.T) {
	t.Parallel()
	e, dest, evil, _ := breakoutEdge(t)
	e.sendBody(dest, "application/json", []byte(`{}`), false, "X-Arg", `{"name":"{{ `+evil+` }}","mode":"add"}`).expect(t, 200)
	got := dest.last(t).header.Get("X-Arg")
	if keys := jsonKeys(t, []byte(got)); !reflect.DeepEqual(keys, [][]string{{"mode", "name"}}) {
		t.Fatalf("X-Arg has keys %v: %s", keys, got)
	}
	var m map[string]any
	if json.Unmarshal([]byte(got), &m); m["name"] != injection {
		t.Fatalf("name %q", m["name"])
	}
}
