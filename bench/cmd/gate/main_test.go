package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestRunRefusesBadFlags: every flag error exits 2 before anything is built or started.
func TestRunRefusesBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"-nope"}, "flag provided but not defined"},
		{"tiny window", []string{"-window", "5"}, "-window"},
		{"no windows", []string{"-windows", "0"}, "-window"},
		{"unknown budget", []string{"-budget", "tokens=7=1"}, "no budget"},
		{"budget without value", []string{"-budget", "tokens=0"}, "positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tt.args, &stdout, &stderr); code != 2 {
				t.Fatalf("exit %d", code)
			}
			if !strings.Contains(stderr.String(), tt.want) || stdout.Len() != 0 {
				t.Fatalf("stderr %q stdout %q", stderr.String(), stdout.String())
			}
		})
	}
}
