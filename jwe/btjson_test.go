package jwe

import (
	"encoding/json"
	"strings"
	"testing"
)

// btShaped reports, through encoding/json, whether b is an object of strings or of objects of
// strings: the shapes validBTJSON must accept exactly when json.Valid does.
func btShaped(b []byte) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(b, &top) != nil || top == nil {
		return false
	}
	for _, v := range top {
		if v[0] == '"' {
			continue
		}
		var inner map[string]json.RawMessage
		if v[0] != '{' || json.Unmarshal(v, &inner) != nil {
			return false
		}
		for _, w := range inner {
			if w[0] != '"' {
				return false
			}
		}
	}
	return true
}

var btJSONSeeds = []string{
	`{}`, ` { } `, `{"type":"card","encrypted":"a.b.c.d.e"}`, `{"a":{"type":"t","encrypted":"x"},"b":{}}`,
	`{"a":"\u00e9\n\"\\\/\b\f\r\t"}`, `{"a":"\u12"}`, `{"a":"\x"}`, `{"a":"` + "\x01" + `"}`, `{"a":"b",}`,
	`{,"a":"b"}`, `{"a":"b" "c":"d"}`, `{"a":"b"`, `{"a" "b"}`, `{"a":1}`, `{"a":{"a":{}}}`, `{"a":["x"]}`,
	`{"a":null}`, `[]`, `"x"`, `{"a":"b"}x`, `{"a":"\ud800"}`, "{\"a\":\"\xff\"}", `{"a":"b"}` + "\n",
	strings.Repeat(`{"a":`, 50), `{"a":"` + strings.Repeat("x", 5000) + `"}`, `{"a":{"b":"c",}}`, `{"a":{"b":1}}`,
}

// TestValidBTJSONAgreesWithJSONValid: on the seeds, validBTJSON accepts exactly the valid JSON
// of the BT-ENCRYPTED shapes — nothing json.Valid refuses (the object walker relies on it).
func TestValidBTJSONAgreesWithJSONValid(t *testing.T) {
	for _, s := range btJSONSeeds {
		t.Run(s[:min(len(s), 30)], func(t *testing.T) {
			want := json.Valid([]byte(s)) && btShaped([]byte(s))
			if got := validBTJSON([]byte(s)); got != want {
				t.Fatalf("validBTJSON(%q) = %v, want %v", s, got, want)
			}
		})
	}
}

// FuzzValidBTJSONIsJSONValidForBTShapes: the same property on any input — a BT-ENCRYPTED value
// that json.Valid would refuse must never reach the walker, and one of the accepted shapes must
// never be refused.
func FuzzValidBTJSONIsJSONValidForBTShapes(f *testing.F) {
	for _, s := range btJSONSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := validBTJSON(b)
		if got && !json.Valid(b) {
			t.Fatalf("accepted invalid JSON %q", b)
		}
		if want := json.Valid(b) && btShaped(b); got != want {
			t.Fatalf("validBTJSON(%q) = %v, want %v", b, got, want)
		}
	})
}
