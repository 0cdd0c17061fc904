//go:build !linux

package journal

import "os"

// mappedFile is only built on Linux; elsewhere the journal writes with write(2).
type mappedFile struct {
	f   *os.File
	mem []byte
}

func mapSegment(string, int64) (*mappedFile, bool, error) { return nil, false, nil }

func (m *mappedFile) finish(int64) (*os.File, error) { return m.f, nil }

func (*mappedFile) prefault(int) {}

// fdatasync writes f to stable storage.
func fdatasync(f *os.File) error { return f.Sync() }
