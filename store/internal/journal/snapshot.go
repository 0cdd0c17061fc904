package journal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// SegmentFile is one segment of a Snapshot: an open file and how many of its bytes hold
// complete records. The caller reads File up to Size and closes it.
type SegmentFile struct {
	Name string // audit-<seq>.log
	Size int64
	File *os.File
}

// Snapshot opens every segment, oldest first, with the bytes of complete records each holds
// now: a consistent copy of the journal while appends go on (they only add after Size, and a
// segment dropped by retention meanwhile stays readable through its open file).
func (j *Journal) Snapshot() ([]SegmentFile, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []SegmentFile
	fail := func(err error) ([]SegmentFile, error) {
		for _, s := range out {
			s.File.Close()
		}
		return nil, fmt.Errorf("journal: snapshot: %w", err)
	}
	for _, seg := range j.segs {
		path := j.path(seg.seq)
		f, err := os.Open(path)
		if err != nil {
			return fail(err)
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return fail(err)
		}
		size := fi.Size() // a closed segment holds complete records only (Open cut the last one back)
		if seg.indexed {
			size = min(size, seg.size)
		}
		out = append(out, SegmentFile{Name: filepath.Base(path), Size: size, File: f})
	}
	return out, nil
}

// SegmentName checks that name is a segment file's name (audit-<12 digits>.log) and nothing
// else: no path, so a file written under it stays in the journal's directory.
func SegmentName(name string) error {
	num, ok := strings.CutPrefix(name, "audit-")
	num, ok2 := strings.CutSuffix(num, ".log")
	if !ok || !ok2 || len(num) != 12 {
		return errors.New("journal: not a segment name")
	}
	if _, err := strconv.ParseUint(num, 10, 64); err != nil {
		return errors.New("journal: not a segment name")
	}
	return nil
}
