package store

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/dgraph-io/badger/v4"

	"github.com/sluice-edge/sluice/store/internal/journal"
	"github.com/sluice-edge/sluice/store/internal/seal"
)

// A backup file is the Badger vault's own backup stream (a consistent snapshot) and the audit
// journal's segments, cut into chunks sealed under a key derived from the master key and a
// random salt of the file:
//
//	magic (16) | salt (16) | check: Seal("", aad = magic|salt)
//	chunk*: length (4, big-endian) | Seal(kind (1) | data, aad = chunk number (8, big-endian))
//
// Kinds, in this order: backupVault* (the Badger stream), then per journal segment
// backupSegment (its name) and backupAudit* (its bytes), then exactly one backupEnd, last.
// Numbering the chunks in their AAD makes a reordered, repeated or dropped chunk fail to open,
// and the end chunk makes a truncated file fail. Values Sluice seals inside the stream stay
// sealed; the rest (application records, keyed hashes, audit events) is sealed by the chunks.
const (
	backupMagic   = "SLUICE BACKUP 1\n"
	backupSaltLen = 16
	// maxBackupChunk bounds a chunk's data: the reader refuses a larger length before it
	// allocates anything.
	maxBackupChunk = 1 << 20

	backupVault   byte = 'B'
	backupSegment byte = 'S'
	backupAudit   byte = 'J'
	backupEnd     byte = 'E'
)

// Errors of backups and copies, matched with errors.Is.
var (
	// ErrBackupDamaged: the backup file is not one, was cut short or was altered.
	ErrBackupDamaged = errors.New("store: the backup file is damaged, truncated or not a Sluice backup")
	// ErrInUse: another process (a running edge) holds the data directory.
	ErrInUse = errors.New("store: the data directory is in use by another process (a running sluice)")
)

// BackupStats says what a backup holds.
type BackupStats struct {
	Bytes      int64 // of the file
	VaultBytes int64 // of the Badger stream
	Segments   int   // audit journal segments
	AuditBytes int64 // of those segments
}

// backupSealer is the chunks' sealer of a file with salt.
func backupSealer(master, salt []byte) (*seal.Sealer, error) {
	if len(master) != seal.KeySize {
		return nil, errors.New("store: master key must be 32 bytes")
	}
	return seal.New(seal.Derive(master, "backup "+hex.EncodeToString(salt)))
}

// backupWriter seals chunks onto w.
type backupWriter struct {
	w     io.Writer
	s     *seal.Sealer
	n     uint64 // chunks written
	buf   []byte // scratch: kind | data
	out   []byte // scratch: length | sealed
	bytes int64
}

func newBackupWriter(w io.Writer, master []byte) (*backupWriter, error) {
	salt := make([]byte, backupSaltLen)
	rand.Read(salt)
	s, err := backupSealer(master, salt)
	if err != nil {
		return nil, err
	}
	hdr := append([]byte(backupMagic), salt...)
	hdr = s.Seal(hdr, nil, hdr)
	b := &backupWriter{w: w, s: s}
	return b, b.write(hdr)
}

func (b *backupWriter) write(p []byte) error {
	n, err := b.w.Write(p)
	b.bytes += int64(n)
	return err
}

// chunk writes data as chunks of kind (an empty data as one empty chunk).
func (b *backupWriter) chunk(kind byte, data []byte) error {
	for first := true; first || len(data) > 0; first = false {
		part := data[:min(len(data), maxBackupChunk)]
		data = data[len(part):]
		b.buf = append(append(b.buf[:0], kind), part...)
		var aad [8]byte
		binary.BigEndian.PutUint64(aad[:], b.n)
		b.n++
		b.out = binary.BigEndian.AppendUint32(b.out[:0], uint32(len(b.buf)+seal.Overhead))
		b.out = b.s.Seal(b.out, b.buf, aad[:])
		clear(b.buf)
		if err := b.write(b.out); err != nil {
			return err
		}
	}
	return nil
}

// chunkWriter is an io.Writer of chunks of one kind that stops when ctx ends.
type chunkWriter struct {
	ctx  context.Context
	b    *backupWriter
	kind byte
	n    int64
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	if err := c.b.chunk(c.kind, p); err != nil {
		return 0, err
	}
	c.n += int64(len(p))
	return len(p), nil
}

// WriteBackup writes a consistent copy of the Badger vault st to w, sealed under a key derived
// from master (which must be the vault's): the vault as of one moment (Badger's snapshot) and
// the audit journal as of just after it. It runs beside the vault's other work. ErrWrongKey
// if master is not the vault's.
func WriteBackup(ctx context.Context, st Store, master []byte, w io.Writer) (BackupStats, error) {
	s, ok := st.(*badgerStore)
	if !ok {
		return BackupStats{}, errors.New("store: backup is for the Badger vault; back up PostgreSQL with its own tools (pg_dump, base backups)")
	}
	if err := s.checkMaster(master); err != nil {
		return BackupStats{}, err
	}
	bw, err := newBackupWriter(w, master)
	if err != nil {
		return BackupStats{}, err
	}
	stats := BackupStats{}
	vault := &chunkWriter{ctx: ctx, b: bw, kind: backupVault}
	buf := bufio.NewWriterSize(vault, maxBackupChunk)
	if _, err := s.db.Backup(buf, 0); err != nil {
		return stats, fmt.Errorf("store: backup: %w", err)
	}
	if err := buf.Flush(); err != nil {
		return stats, fmt.Errorf("store: backup: %w", err)
	}
	stats.VaultBytes = vault.n
	if j, ok := s.journal.(interface {
		Snapshot() ([]journal.SegmentFile, error)
	}); ok {
		if err := backupJournal(ctx, bw, j.Snapshot, &stats); err != nil {
			return stats, err
		}
	}
	if err := bw.chunk(backupEnd, nil); err != nil {
		return stats, fmt.Errorf("store: backup: %w", err)
	}
	stats.Bytes = bw.bytes
	return stats, nil
}

// backupJournal writes each segment of the journal's snapshot: its name, then its bytes.
func backupJournal(ctx context.Context, bw *backupWriter, snapshot func() ([]journal.SegmentFile, error), stats *BackupStats) error {
	segs, err := snapshot()
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	defer func() {
		for _, s := range segs {
			s.File.Close()
		}
	}()
	for _, seg := range segs {
		if err := bw.chunk(backupSegment, []byte(seg.Name)); err != nil {
			return fmt.Errorf("store: backup: %w", err)
		}
		audit := &chunkWriter{ctx: ctx, b: bw, kind: backupAudit}
		buf := bufio.NewWriterSize(audit, maxBackupChunk)
		if _, err := io.Copy(buf, io.NewSectionReader(seg.File, 0, seg.Size)); err != nil {
			return fmt.Errorf("store: backup: audit journal: %w", err)
		}
		if err := buf.Flush(); err != nil {
			return fmt.Errorf("store: backup: %w", err)
		}
		stats.Segments++
		stats.AuditBytes += audit.n
	}
	return nil
}

// BackupDir writes a backup (as WriteBackup) of the vault in dir, which no process holds:
// ErrInUse while a running edge does (ask it for the backup instead); ErrNotFound if dir holds
// no vault.
func BackupDir(ctx context.Context, dir string, master []byte, w io.Writer) (BackupStats, error) {
	st, err := openIdle(dir, master)
	if err != nil {
		return BackupStats{}, err
	}
	stats, err := WriteBackup(ctx, st, master, w)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	return stats, err
}

// openIdle opens the existing vault in dir for a command (backup, copy): ErrNotFound if there
// is none (it is not created), ErrInUse if a running edge holds it.
func openIdle(dir string, master []byte) (Store, error) {
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST")); err != nil {
		return nil, fmt.Errorf("%w: no vault in %s", ErrNotFound, dir)
	}
	st, err := Open(Options{Dir: dir, MasterKey: master, DiskReserve: -1})
	if err != nil && strings.Contains(err.Error(), "Another process is using this Badger database") {
		return nil, ErrInUse
	}
	return st, err
}

// BackupAuth is what a client presents (as a bearer token) to have a running edge write its
// backup: derived from the master key, so that only a holder of the key that opens the backup
// can have one made.
func BackupAuth(master []byte) string {
	return base64.RawURLEncoding.EncodeToString(seal.Derive(master, "backup request"))
}

// VerifyBackup reads a whole backup from r and checks that every chunk opens with master, in
// order, up to the end chunk: ErrWrongKey or ErrBackupDamaged otherwise. It writes nothing.
func VerifyBackup(r io.Reader, master []byte) (BackupStats, error) {
	cr := &countingReader{r: r}
	br, err := openBackup(cr, master)
	if err != nil {
		return BackupStats{}, err
	}
	var stats BackupStats
	for {
		kind, data, err := br.next()
		switch {
		case err == io.EOF:
			stats.Bytes = cr.n
			return stats, nil
		case err != nil:
			return stats, err
		case kind == backupVault:
			stats.VaultBytes += int64(len(data))
		case kind == backupSegment:
			stats.Segments++
		case kind == backupAudit:
			stats.AuditBytes += int64(len(data))
		}
	}
}

// checkMaster is nil if master wraps the vault's root secret.
func (s *badgerStore) checkMaster(master []byte) error {
	kek, err := rootKEK(master)
	if err != nil {
		return err
	}
	return s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(keyRoot))
		if err != nil {
			return fmt.Errorf("store: root key: %w", err)
		}
		return item.Value(func(v []byte) error {
			root, err := kek.Open(nil, v, []byte(keyRoot))
			clear(root)
			if err != nil {
				return ErrWrongKey
			}
			return nil
		})
	})
}

// backupReader opens the chunks of a backup file, in order. Its input is untrusted: every
// length is checked before it is read, and anything but a whole, authentic file is
// ErrBackupDamaged (or ErrWrongKey when the master key does not open the header).
type backupReader struct {
	r      *bufio.Reader
	s      *seal.Sealer
	n      uint64
	ended  bool
	sealed []byte // scratch
	plain  []byte // the current chunk's plaintext
	held   bool   // the current chunk is to be returned again by next (peeked)
}

// openBackup reads the header of a backup and checks that master opens it.
func openBackup(r io.Reader, master []byte) (*backupReader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	hdr := make([]byte, len(backupMagic)+backupSaltLen+seal.Overhead)
	if _, err := io.ReadFull(br, hdr); err != nil || string(hdr[:len(backupMagic)]) != backupMagic {
		return nil, ErrBackupDamaged
	}
	plain := hdr[:len(backupMagic)+backupSaltLen]
	s, err := backupSealer(master, plain[len(backupMagic):])
	if err != nil {
		return nil, err
	}
	if _, err := s.Open(nil, hdr[len(plain):], plain); err != nil {
		return nil, ErrWrongKey
	}
	return &backupReader{r: br, s: s}, nil
}

// next returns the next chunk's kind and data (valid until the following call); io.EOF once
// the end chunk was read and nothing follows it.
func (b *backupReader) next() (kind byte, data []byte, err error) {
	if b.held {
		b.held = false
		return b.plain[0], b.plain[1:], nil
	}
	if b.ended {
		if _, err := b.r.ReadByte(); err != io.EOF {
			return 0, nil, ErrBackupDamaged // bytes after the end
		}
		return 0, nil, io.EOF
	}
	var hdr [4]byte
	if _, err := io.ReadFull(b.r, hdr[:]); err != nil {
		return 0, nil, ErrBackupDamaged
	}
	n := int(binary.BigEndian.Uint32(hdr[:]))
	if n < 1+seal.Overhead || n > 1+maxBackupChunk+seal.Overhead {
		return 0, nil, ErrBackupDamaged
	}
	if cap(b.sealed) < n {
		b.sealed = make([]byte, n)
	}
	b.sealed = b.sealed[:n]
	if _, err := io.ReadFull(b.r, b.sealed); err != nil {
		return 0, nil, ErrBackupDamaged
	}
	var aad [8]byte
	binary.BigEndian.PutUint64(aad[:], b.n)
	clear(b.plain)
	b.plain, err = b.s.Open(b.plain[:0], b.sealed, aad[:])
	if err != nil {
		return 0, nil, ErrBackupDamaged
	}
	b.n++
	switch b.plain[0] {
	case backupVault, backupSegment, backupAudit:
	case backupEnd:
		if len(b.plain) != 1 {
			return 0, nil, ErrBackupDamaged
		}
		b.ended = true
	default:
		return 0, nil, ErrBackupDamaged
	}
	return b.plain[0], b.plain[1:], nil
}

// hold makes next return the current chunk again.
func (b *backupReader) hold() { b.held = true }

// kindReader reads the data of consecutive chunks of one kind, as one stream: io.EOF at the
// first chunk of another kind (held for the next reader).
type kindReader struct {
	b    *backupReader
	kind byte
	rest []byte
	err  error
}

func (k *kindReader) Read(p []byte) (int, error) {
	for len(k.rest) == 0 {
		if k.err != nil {
			return 0, k.err
		}
		kind, data, err := k.b.next()
		switch {
		case err == io.EOF:
			k.err = ErrBackupDamaged // the end chunk was consumed by another reader: never here
		case err != nil:
			k.err = err
		case kind != k.kind:
			k.b.hold()
			k.err = io.EOF
		default:
			k.rest = data
		}
	}
	n := copy(p, k.rest)
	k.rest = k.rest[n:]
	return n, nil
}

// RestoreBackup makes a new vault in dir (which must not exist or be empty) from the backup
// read from r. master must be the key the backup was written with: ErrWrongKey otherwise,
// before anything is written. The restored vault opens with master. On failure everything
// written to dir is removed again (the error says the backup is damaged, or why it stopped).
func RestoreBackup(r io.Reader, dir string, master []byte) (stats BackupStats, err error) {
	br, err := openBackup(r, master)
	if err != nil {
		return stats, err
	}
	created, err := emptyDir(dir)
	if err != nil {
		return stats, err
	}
	defer func() {
		if err != nil {
			removeRestored(dir, created)
		}
	}()
	if err := loadVault(br, dir, master, &stats); err != nil {
		return stats, err
	}
	if err := restoreJournal(br, filepath.Join(dir, "audit"), &stats); err != nil {
		return stats, err
	}
	st, err := Open(Options{Dir: dir, MasterKey: master, DiskReserve: -1})
	if err != nil {
		return stats, fmt.Errorf("store: restore: the restored vault does not open: %w", err)
	}
	if err := st.Close(); err != nil {
		return stats, err
	}
	return stats, nil
}

// emptyDir makes dir if it does not exist (created says so) and refuses one that holds files.
func emptyDir(dir string) (created bool, err error) {
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return true, os.MkdirAll(dir, 0o700)
	case err != nil:
		return false, fmt.Errorf("store: restore: %w", err)
	case len(ents) > 0:
		return false, fmt.Errorf("store: restore: %s is not empty (nothing was written): restore into a new directory", dir)
	}
	return false, nil
}

// removeRestored removes what a failed restore wrote into dir (all of it: dir was empty).
func removeRestored(dir string, created bool) {
	if created {
		os.RemoveAll(dir)
		return
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

// loadVault loads the backup's Badger stream into a new Badger database in dir.
func loadVault(br *backupReader, dir string, master []byte, stats *BackupStats) error {
	db, err := badger.Open(badgerOptions(Options{Dir: dir, MasterKey: master}))
	if err != nil {
		return fmt.Errorf("store: restore: %w", err)
	}
	counted := &countingReader{r: &kindReader{b: br, kind: backupVault}}
	err = db.Load(counted, 16)
	stats.VaultBytes = counted.n
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if errors.Is(err, ErrBackupDamaged) || errors.Is(err, ErrWrongKey) {
			return err
		}
		// Authentic chunks that Badger cannot load: written by something else.
		return fmt.Errorf("%w: %w", ErrBackupDamaged, err)
	}
	return nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// restoreJournal writes the backup's journal segments into dir, up to its end chunk.
func restoreJournal(br *backupReader, dir string, stats *BackupStats) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("store: restore: %w", err)
	}
	var f *os.File
	finish := func() error {
		if f == nil {
			return nil
		}
		err := f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		f = nil
		return err
	}
	defer finish()
	for {
		kind, data, err := br.next()
		switch {
		case err == io.EOF:
			if err := finish(); err != nil {
				return fmt.Errorf("store: restore: %w", err)
			}
			return syncDir(dir)
		case err != nil:
			return err
		case kind == backupSegment:
			if err := finish(); err != nil {
				return fmt.Errorf("store: restore: %w", err)
			}
			if journal.SegmentName(string(data)) != nil {
				return ErrBackupDamaged
			}
			// O_EXCL: a backup naming one segment twice is refused, not merged.
			f, err = os.OpenFile(filepath.Join(dir, string(data)), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrBackupDamaged, err)
			}
			stats.Segments++
		case kind == backupAudit && f != nil:
			if _, err := f.Write(data); err != nil {
				return fmt.Errorf("store: restore: %w", err)
			}
			stats.AuditBytes += int64(len(data))
		case kind == backupEnd:
		default: // vault data after the journal began, or journal data before a segment
			return ErrBackupDamaged
		}
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
