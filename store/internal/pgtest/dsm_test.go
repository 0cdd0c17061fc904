package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestClustersKeepDynamicSharedMemoryInTheirDirectory: a test cluster's dynamic shared memory
// lives in its data directory, so a cluster killed with its test binary leaves no segment in
// /dev/shm (POSIX segments there outlive the server and hold the machine's RAM for good).
func TestClustersKeepDynamicSharedMemoryInTheirDirectory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, Database(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var kind string
	if err := c.QueryRow(ctx, "SHOW dynamic_shared_memory_type").Scan(&kind); err != nil {
		t.Fatal(err)
	}
	if kind != "mmap" {
		t.Fatalf("dynamic_shared_memory_type = %s, want mmap", kind)
	}
}
