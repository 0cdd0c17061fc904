package server

import "testing"

func TestConnectionCap(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		configured int
		nofile     uint64
		want       int
	}{
		{"configured wins", 500, 1 << 20, 500},
		{"unknown limit", 0, 0, 256 * 1024},
		{"unlimited", 0, 1 << 40, 256 * 1024},
		{"half of what the reserve leaves", 0, 65536, (65536 - 256) / 2},
		{"floor", 0, 256, 32},
		{"below the reserve", 0, 100, 32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := connectionCap(tc.configured, tc.nofile); got != tc.want {
				t.Fatalf("connectionCap(%d, %d) = %d, want %d", tc.configured, tc.nofile, got, tc.want)
			}
		})
	}
}
