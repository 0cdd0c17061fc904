package store

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/sluice-edge/sluice/store/internal/seal"
)

// journal is the fast path of Audit: events are sealed and appended to a file with one write(2)
// — on disk before the caller proceeds, as far as a crash of the process is concerned — and moved
// into Badger in batches in the background (and before every query). A Badger transaction per
// proxied request cost ~150 µs of CPU; an append costs a few.
//
// Each record is: 4-byte big-endian length, then, sealed, the events as (Badger key, uvarint
// length, JSON) triples — ingest writes them as they are. Event ids (and so their Badger keys)
// are fixed when appended, so moving a file into Badger twice after a crash writes the same keys
// again: replay is idempotent.
type journal struct {
	dir  string
	seal *seal.Sealer
	db   *badger.DB

	mu   sync.Mutex // guards f, seq, size
	f    *os.File
	seq  int
	size int64

	ingestMu sync.Mutex // one ingest at a time
	stop     chan struct{}
	done     chan struct{}
}

const (
	journalRotateBytes = 1 << 20
	journalInterval    = time.Second
)

var journalAAD = []byte("sluice audit journal v1")

func openJournal(dir string, sl *seal.Sealer, db *badger.DB) (*journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	j := &journal{dir: dir, seal: sl, db: db, stop: make(chan struct{}), done: make(chan struct{})}
	files, err := j.files()
	if err != nil {
		return nil, err
	}
	if len(files) > 0 {
		j.seq = files[len(files)-1]
	}
	if err := j.ingest(); err != nil { // replay what a crash left behind
		return nil, err
	}
	go j.loop()
	return j, nil
}

func (j *journal) path(seq int) string {
	return filepath.Join(j.dir, fmt.Sprintf("audit-%012d.log", seq))
}

// files lists the journal files, oldest first.
func (j *journal) files() ([]int, error) {
	ents, err := os.ReadDir(j.dir)
	if err != nil {
		return nil, err
	}
	var seqs []int
	for _, e := range ents {
		name, ok := strings.CutPrefix(e.Name(), "audit-")
		if name, ok2 := strings.CutSuffix(name, ".log"); ok && ok2 {
			if n, err := strconv.Atoi(name); err == nil {
				seqs = append(seqs, n)
			}
		}
	}
	sort.Ints(seqs)
	return seqs, nil
}

// append writes evs as one record. The error is the caller's to fail on.
func (j *journal) append(evs []Event) error {
	if len(evs) > 0xffff {
		return errors.New("store: too many audit events in one record")
	}
	plain := make([]byte, 0, 384*len(evs))
	var base []byte // the events of one record share a key but for its last two bytes
	for i := range evs {
		ev := &evs[i]
		if ev.CreatedAt.IsZero() {
			ev.CreatedAt = time.Now().UTC()
		}
		if base == nil {
			base = newEventKey(ev.CreatedAt)
		}
		k := base
		binary.BigEndian.PutUint16(k[len(k)-2:], uint16(i))
		ev.ID = eventID(k)
		plain = append(plain, k...)
		lenAt := len(plain)
		plain = append(plain, 0, 0) // two-byte length, filled below
		plain = appendEventJSON(plain, ev)
		n := len(plain) - lenAt - 2
		if n > 0xffff {
			return errors.New("store: audit event too large")
		}
		binary.BigEndian.PutUint16(plain[lenAt:], uint16(n))
	}
	rec := make([]byte, 4, 4+len(plain)+seal.Overhead)
	rec = j.seal.Seal(rec, plain, journalAAD)
	binary.BigEndian.PutUint32(rec, uint32(len(rec)-4))
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		j.seq++
		f, err := os.OpenFile(j.path(j.seq), os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("store: audit journal: %w", err)
		}
		j.f, j.size = f, 0
	}
	n, err := j.f.Write(rec)
	j.size += int64(n)
	if err != nil {
		// Nothing may follow a torn record in its file: later appends start a new one.
		j.f.Close()
		j.f = nil
		return fmt.Errorf("store: audit journal: %w", err)
	}
	return nil
}

func (j *journal) loop() {
	defer close(j.done)
	t := time.NewTicker(journalInterval)
	defer t.Stop()
	for {
		select {
		case <-j.stop:
			return
		case <-t.C:
			j.ingest() // errors leave the file in place for the next round
		}
	}
}

// ingest closes the current file (new appends start a new one) and moves every closed file into
// Badger, deleting each once its events are committed.
func (j *journal) ingest() error {
	j.ingestMu.Lock()
	defer j.ingestMu.Unlock()
	j.mu.Lock()
	if j.f != nil {
		j.f.Close()
		j.f = nil
	}
	upTo := j.seq // files after this one are being written to: never ingest (and delete) those
	j.mu.Unlock()
	seqs, err := j.files()
	if err != nil {
		return err
	}
	for _, seq := range seqs {
		if seq > upTo {
			break
		}
		if err := j.ingestFile(j.path(seq)); err != nil {
			return err
		}
	}
	return nil
}

func (j *journal) ingestFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	wb := j.db.NewWriteBatch()
	defer wb.Cancel()
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			break // end of file, or a record cut short by a crash mid-write: its caller never proceeded
		}
		rec := make([]byte, binary.BigEndian.Uint32(hdr[:]))
		if _, err := io.ReadFull(r, rec); err != nil {
			break
		}
		plain, err := j.seal.Open(nil, rec, journalAAD)
		if err != nil {
			return fmt.Errorf("store: audit journal %s: %w", filepath.Base(path), ErrCorrupt)
		}
		// One Badger entry per record (one request): under the first event's key, the event,
		// or the events as a JSON array in key order.
		var key []byte
		val := make([]byte, 0, len(plain)+2)
		count := 0
		for len(plain) > 0 {
			const klen = len(prefixEvent) + 16
			if len(plain) < klen+2 {
				return fmt.Errorf("store: audit journal %s: %w", filepath.Base(path), ErrCorrupt)
			}
			k, n := plain[:klen], int(binary.BigEndian.Uint16(plain[klen:]))
			plain = plain[klen+2:]
			if n > len(plain) || !json.Valid(plain[:n]) {
				return fmt.Errorf("store: audit journal %s: %w", filepath.Base(path), ErrCorrupt)
			}
			if key == nil {
				key = bytes.Clone(k)
			}
			val = append(append(val, ','), plain[:n]...)
			count++
			plain = plain[n:]
		}
		if count == 1 {
			val = val[1:]
		} else if count > 1 {
			val[0] = '['
			val = append(val, ']')
		}
		if count > 0 {
			if err := wb.Set(key, val); err != nil {
				return err
			}
		}
	}
	if err := wb.Flush(); err != nil {
		return err
	}
	if err := j.db.Sync(); err != nil {
		return err
	}
	return os.Remove(path)
}

func (j *journal) close() error {
	close(j.stop)
	<-j.done
	return j.ingest()
}

// appendEventJSON appends ev as the JSON that encoding/json would write, without reflection.
func appendEventJSON(b []byte, ev *Event) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendQuote(b, ev.ID)
	for _, f := range [...]struct{ name, v string }{{"entity_type", ev.EntityType}, {"entity_id", ev.EntityID},
		{"operation", ev.Operation}, {"actor", ev.Actor}} {
		b = append(b, ',', '"')
		b = append(b, f.name...)
		b = append(b, '"', ':')
		b = appendJSONString(b, f.v)
	}
	if ev.ProxyID != "" {
		b = append(b, `,"proxy_id":`...)
		b = appendJSONString(b, ev.ProxyID)
	}
	b = append(b, `,"created_at":"`...)
	b = ev.CreatedAt.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"', '}')
}

// appendJSONString quotes s as a JSON string (ids and names: escape what JSON requires).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, `\u00`...)
			b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
