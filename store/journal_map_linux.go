package store

import (
	"os"
	"syscall"
)

// mappedFile is a journal segment written through a shared memory mapping: an append is a
// copy, not a write(2). The pages belong to the kernel's page cache, so a record copied there
// survives a crash of the process exactly as a written one does. The file's blocks are
// allocated up front (fallocate): writing to a mapped hole on a full disk would kill the
// process with SIGBUS.
type mappedFile struct {
	f   *os.File
	mem []byte
}

// mapSegment creates path with size bytes allocated and maps it. ok is false when the file
// system cannot allocate ahead (the journal then writes with write(2)).
func mapSegment(path string, size int64) (m *mappedFile, ok bool, err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_EXCL, 0o600)
	if err != nil {
		return nil, true, err
	}
	if err := syscall.Fallocate(int(f.Fd()), 0, 0, size); err != nil {
		f.Close()
		os.Remove(path)
		return nil, false, nil
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, false, nil
	}
	return &mappedFile{f: f, mem: mem}, true, nil
}

// finish unmaps the segment and cuts the file to used bytes.
func (m *mappedFile) finish(used int64) error {
	err := syscall.Munmap(m.mem)
	m.mem = nil
	if terr := m.f.Truncate(used); err == nil {
		err = terr
	}
	if cerr := m.f.Close(); err == nil {
		err = cerr
	}
	return err
}
