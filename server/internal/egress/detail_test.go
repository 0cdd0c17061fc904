package egress

import (
	"errors"
	"fmt"
	"testing"
)

// TestDetailReadsTheErrorNotItsText: the reason given to a caller comes from the refusal in the
// error's chain, whatever text the wrappers around it add (a wrapper may itself say "egress: ").
func TestDetailReadsTheErrorNotItsText(t *testing.T) {
	blocked := &BlockedError{Host: "metadata.example", Decision: DecisionMetadata}
	_, invalidErr := Policy{}.CheckURL("ftp://example.com/")
	_, literal := Policy{}.CheckURL("https://10.0.0.1/")
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"blocked", blocked, `blocked destination "metadata.example" (metadata)`},
		{"blocked wrapped twice", fmt.Errorf("egress: dial %q: %w", "h", fmt.Errorf("fasthttp: %w", blocked)),
			`blocked destination "metadata.example" (metadata)`},
		{"invalid scheme", invalidErr, "invalid destination url: scheme must be https"},
		{"ip literal", fmt.Errorf("egress: x: %w", literal), `invalid destination url: host "10.0.0.1" is an ip literal`},
		{"neither", errors.New("egress: connection reset by 10.0.0.1"), "refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Detail(tc.err); got != tc.want {
				t.Fatalf("Detail = %q, want %q", got, tc.want)
			}
		})
	}
	if !errors.Is(invalidErr, ErrInvalidURL) || !errors.Is(blocked, ErrBlockedDestination) {
		t.Fatal("the sentinels are no longer reachable")
	}
}
