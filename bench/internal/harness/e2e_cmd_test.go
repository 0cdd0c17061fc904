package harness

import (
	"bytes"
	"strings"
	"testing"
)

// TestE2ERefusesBadFlags: every flag error exits 2 before anything is built or started.
func TestE2ERefusesBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"-nope"}, "flag provided but not defined"},
		{"zero concurrency", []string{"-c", "0"}, "concurrency"},
		{"bad concurrency list", []string{"-c", "1,x"}, "concurrency"},
		{"no rounds", []string{"-rounds", "0"}, "-rounds"},
		{"no duration", []string{"-duration", "0s"}, "-duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := E2EMain(tt.args, &stdout, &stderr); code != 2 {
				t.Fatalf("exit %d", code)
			}
			if !strings.Contains(stderr.String(), tt.want) || stdout.Len() != 0 {
				t.Fatalf("stderr %q stdout %q", stderr.String(), stdout.String())
			}
		})
	}
}
