package sdk

import (
	"testing"

	"github.com/sluice-edge/sluice/transforms/internal/abi"
)

// TestSettingOneHeaderAllocatesOnlyTheHeadAndRequest: a request transform that adds one header
// (the Go-SDK guest the benchmark gate runs) allocates the head's strings, the header slice
// (with room for the new header: no second, grown copy) and the Request, and encodes the
// changed headers into a reused buffer. Every allocation is work for the guest's collector.
func TestSettingOneHeaderAllocatesOnlyTheHeadAndRequest(t *testing.T) {
	setup(t, head("POST", "/v1/charges", "", 0, "Content-Type", "application/json", "Accept", "*/*",
		"User-Agent", "bench", "X-Request-Id", "r-1"), "")
	HandleRequest(func(r *Request) error {
		r.Header.Set("X-Go-Guest", "1")
		return nil
	})
	runRequest() // the reused buffers take their size
	allocs := testing.AllocsPerRun(100, func() {
		if got := runRequest(); got != abi.Continue {
			t.Fatalf("result = %d", got)
		}
	})
	// The fake host's copy of the written headers is one more (the edge copies them too).
	if allocs > 4 {
		t.Fatalf("%.0f allocations per request, want at most 4 (head, headers, request, the fake host's copy)", allocs)
	}
}
