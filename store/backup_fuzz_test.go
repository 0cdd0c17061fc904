package store

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/sluice-edge/sluice/store/internal/journal"
)

// FuzzBackupReader feeds arbitrary bytes to the backup file reader, as a restore would: it
// returns chunks or an error, never panics, never allocates past a chunk's bound, and only an
// authentic file gets past the header.
func FuzzBackupReader(f *testing.F) {
	key := testKey(5)
	var valid bytes.Buffer
	bw, err := newBackupWriter(&valid, key)
	if err != nil {
		f.Fatal(err)
	}
	bw.chunk(backupVault, []byte("vault bytes"))
	bw.chunk(backupSegment, []byte("audit-000000000001.log"))
	bw.chunk(backupAudit, bytes.Repeat([]byte{7}, 100))
	bw.chunk(backupEnd, nil)
	v := valid.Bytes()
	f.Add(v)
	f.Add(v[:len(v)-1])
	f.Add(append(bytes.Clone(v), v[len(backupMagic)+backupSaltLen+29:]...)) // chunks again after the end
	f.Add([]byte(backupMagic))
	f.Add(append([]byte(backupMagic), make([]byte, 64)...))
	huge := append(bytes.Clone(v[:len(backupMagic)+backupSaltLen+29]), 0xff, 0xff, 0xff, 0xff)
	f.Add(huge)
	f.Fuzz(func(t *testing.T, data []byte) {
		br, err := openBackup(bytes.NewReader(data), key)
		if err != nil {
			if !errors.Is(err, ErrBackupDamaged) && !errors.Is(err, ErrWrongKey) {
				t.Fatalf("open: %v", err)
			}
			return
		}
		for i := 0; ; i++ {
			kind, chunk, err := br.next()
			if err == io.EOF {
				return
			}
			if err != nil {
				if !errors.Is(err, ErrBackupDamaged) {
					t.Fatalf("next: %v", err)
				}
				return
			}
			if len(chunk) > maxBackupChunk {
				t.Fatalf("a chunk of %d bytes", len(chunk))
			}
			if kind == backupSegment && journal.SegmentName(string(chunk)) == nil && bytes.ContainsAny(chunk, "/\\") {
				t.Fatalf("segment name %q passes with a path in it", chunk)
			}
		}
	})
}

func FuzzSegmentName(f *testing.F) {
	for _, s := range []string{"audit-000000000001.log", "../audit-000000000001.log", "audit-00000000000a.log",
		"audit-+00000000001.log", "audit-000000000001.log/x", "audit-0000000000001.log", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if journal.SegmentName(name) != nil {
			return
		}
		if len(name) != len("audit-000000000001.log") || strings.ContainsAny(name, "/\\") {
			t.Fatalf("%q accepted", name)
		}
	})
}
