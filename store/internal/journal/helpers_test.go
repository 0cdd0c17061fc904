package journal

import (
	"bytes"
	"testing"
	"time"

	"github.com/sluice-edge/sluice/store/internal/seal"
)

// testSyncEvery is the vault's default audit.sync_interval.
const testSyncEvery = 10 * time.Millisecond

var testSealer = func() *seal.Sealer {
	s, err := seal.New(bytes.Repeat([]byte{1}, seal.KeySize))
	if err != nil {
		panic(err)
	}
	return s
}()

// openJournal opens the journal in dir; the caller closes it.
func openJournal(t testing.TB, dir string, syncEvery time.Duration) *Journal {
	t.Helper()
	j, err := Open(dir, testSealer, syncEvery, 0)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// page reads up to size events below start (newest first) whose operation is op ("" for all),
// and the cursor of the next page ("" at the end), as the vault's Events pages.
func page(j *Journal, size int, start, op string) ([]Event, string, error) {
	it := j.Iter(start)
	var out []Event
	for {
		ev, ok, err := it.Next()
		if err != nil {
			if len(out) == size {
				return out, out[len(out)-1].ID, nil
			}
			return out, "", err
		}
		if !ok {
			return out, "", nil
		}
		if op != "" && ev.Operation != op {
			continue
		}
		if len(out) == size {
			return out, out[len(out)-1].ID, nil
		}
		out = append(out, ev)
	}
}

// all reads every event whose operation is op, newest first.
func all(t testing.TB, j *Journal, op string) []Event {
	t.Helper()
	evs, _, err := page(j, 1<<30, "", op)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// journalModes runs f with the journal memory-mapping its segments (the default on Linux) and
// with write(2), as on a file system that cannot allocate ahead.
func journalModes(t *testing.T, f func(t *testing.T, writeOnly bool)) {
	for _, writeOnly := range []bool{false, true} {
		name := "mapped"
		if writeOnly {
			name = "write"
		}
		t.Run(name, func(t *testing.T) { f(t, writeOnly) })
	}
}
