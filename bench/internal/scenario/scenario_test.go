package scenario

import (
	"errors"
	"strings"
	"testing"
)

// TestCheckNamesNoSecret: a failed check says what is missing without quoting the echo, which
// holds card numbers.
func TestCheckNamesNoSecret(t *testing.T) {
	s := Scenario{Key: Tokens5, want: []expect{{[]byte(`"4242424242424242"`), "card number 1 as a JSON string"}}}
	tests := []struct {
		name string
		echo string
		ok   bool
	}{
		{"present", `{"f0":"4242424242424242"}`, true},
		{"missing", `{"f0":"5555555555554444"}`, false},
		{"unresolved", `{"f0":"4242424242424242","f1":"{{ x }}"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Check([]byte(tt.echo))
			if (err == nil) != tt.ok {
				t.Fatalf("err %v", err)
			}
			if err != nil && (!errors.Is(err, ErrCheck) || strings.Contains(err.Error(), "5555") || strings.Contains(err.Error(), "4242")) {
				t.Fatalf("err %v", err)
			}
		})
	}
}
