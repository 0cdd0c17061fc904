//go:build !linux

package store

// mappedFile is only built on Linux; elsewhere the journal writes with write(2).
type mappedFile struct{ mem []byte }

func mapSegment(string, int64) (*mappedFile, bool, error) { return nil, false, nil }

func (*mappedFile) finish(int64) error { return nil }

func (*mappedFile) prefault(int) {}
