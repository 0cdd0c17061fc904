package jwe

import (
	"encoding/json"
	"strings"
	"testing"
)

// shallowShaped reports, through encoding/json, whether b is an object of strings or of objects of
// strings: the shapes validShallowJSON must accept exactly when json.Valid does.
func shallowShaped(b []byte) bool {
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

var shallowJSONSeeds = []string{
	`{}`, ` { } `, `{"type":"card","encrypted":"a.b.c.d.e"}`, `{"a":{"type":"t","encrypted":"x"},"b":{}}`,
	`{"a":"\u00e9\n\"\\\/\b\f\r\t"}`, `{"a":"\u12"}`, `{"a":"\x"}`, `{"a":"` + "\x01" + `"}`, `{"a":"b",}`,
	`{,"a":"b"}`, `{"a":"b" "c":"d"}`, `{"a":"b"`, `{"a" "b"}`, `{"a":1}`, `{"a":{"a":{}}}`, `{"a":["x"]}`,
	`{"a":null}`, `[]`, `"x"`, `{"a":"b"}x`, `{"a":"\ud800"}`, "{\"a\":\"\xff\"}", `{"a":"b"}` + "\n",
	strings.Repeat(`{"a":`, 50), `{"a":"` + strings.Repeat("x", 5000) + `"}`, `{"a":{"b":"c",}}`, `{"a":{"b":1}}`,
}

// TestValidShallowJSONAgreesWithJSONValid: on the seeds, validShallowJSON accepts exactly the valid JSON
// of the BT-ENCRYPTED shapes — nothing json.Valid refuses (the object walker relies on it).
func TestValidShallowJSONAgreesWithJSONValid(t *testing.T) {
	for _, s := range shallowJSONSeeds {
		t.Run(s[:min(len(s), 30)], func(t *testing.T) {
			want := json.Valid([]byte(s)) && shallowShaped([]byte(s))
			if got := validShallowJSON([]byte(s)); got != want {
				t.Fatalf("validShallowJSON(%q) = %v, want %v", s, got, want)
			}
		})
	}
}

// FuzzValidShallowJSONIsJSONValid: the same property on any input — a BT-ENCRYPTED value
// that json.Valid would refuse must never reach the walker, and one of the accepted shapes must
// never be refused.
func FuzzValidShallowJSONIsJSONValid(f *testing.F) {
	for _, s := range shallowJSONSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := validShallowJSON(b)
		if got && !json.Valid(b) {
			t.Fatalf("accepted invalid JSON %q", b)
		}
		if want := json.Valid(b) && shallowShaped(b); got != want {
			t.Fatalf("validShallowJSON(%q) = %v, want %v", b, got, want)
		}
	})
}
