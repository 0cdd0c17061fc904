// Package journal is the vault's audit log on disk: sealed records appended to segment files.
// A record is in the kernel's page cache before Append returns, so a crash of the process loses
// nothing, and on stable storage within syncEvery (one fdatasync for every record of that window:
// group commit), or before Append returns when syncEvery is 0. The vault reads it newest first
// beside the events it keeps with their mutations. See RATIONALE.md, "Audit log".
//
// Each record is: 4-byte big-endian length, then, sealed, the events as (key, 2-byte length,
// JSON) triples. An event that differs from the record's first only in its entity id (the tokens
// of one proxied request) is stored short, as (key, 0, 2-byte length, entity id): one request's
// five detokenizations take ~500 bytes instead of ~1.3 KB. Keys are handed out under the
// journal's lock and strictly increase in file order, so a segment's records are in event-id
// order and the segments' ranges do not overlap: reading newest first is reading backwards.
package journal

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/sluice-edge/sluice/store/internal/seal"
)

// Journal is one audit journal, open in a directory. Safe for concurrent use.
type Journal struct {
	dir  string
	seal *seal.Sealer

	mu        sync.Mutex // guards everything below
	f         *os.File   // the newest segment, open for appending; nil until the next append
	segs      []*segment // oldest first; the last is f's when f is open
	seq       int        // number of the newest segment
	lastNanos int64      // of the newest key handed out

	mapped   *mappedFile // the newest segment when it is memory-mapped (see journal_map_linux.go)
	noMap    bool        // the file system cannot allocate ahead: write(2) only
	filling  *batch      // records waiting for the next write
	writing  bool        // a write is in flight (outside mu)
	written  sync.Cond   // broadcast when a write ends
	freeBufs []batchBufs
	closed   bool
	plain    []byte // scratch for one record's plaintext
	validIDs bool   // the entity ids of the events being encoded are valid UTF-8 (AppendValid)
	stamp    []byte // scratch for a formatted created_at
	second   secondStamp
	key      [KeyLen]byte

	rotateBytes int64 // a segment is closed once it is this big
	markBytes   int64 // distance between marks (tests shrink both)

	// Group commit. Records are counted as they reach a file; a sync covers every record counted
	// when it starts.
	syncEvery time.Duration        // longest wait for fsync after append returns; 0: before it returns
	fsync     func(*os.File) error // fdatasync (tests count and hold it)
	appended  uint64               // records in files
	synced    uint64               // records on stable storage
	syncing   bool                 // a sync is in flight (outside mu)
	syncEnd   sync.Cond            // broadcast when a sync ends
	syncErr   error                // the last sync's failure: appends fail until a sync succeeds
	armed     bool                 // the syncer has been woken for the records since the last sync
	retired   []*os.File           // segments left with records not yet synced; the syncer closes them
	dirDirty  bool                 // a segment was created or removed since the directory was synced
	kick      chan struct{}        // wakes the syncer
	stopSync  chan struct{}
	syncDone  chan struct{}
}

// segment is one journal file and its sparse index: where a record starts, every 64 KiB or
// so, and the key of that record's first event. A segment found on disk is indexed when a query
// first reaches it; the one being written is indexed as it grows.
type segment struct {
	seq     int
	indexed bool
	size    int64 // bytes of complete records
	marks   []mark
}

type mark struct {
	off int64
	key string // the record's first event id
}

const (
	journalRotateBytes = 64 << 20
	journalMarkBytes   = 64 << 10
)

var journalAAD = []byte("sluice audit journal v1")

// Open opens the journal in dir; syncEvery is the longest a record waits for fsync after
// Append returns (0: Append syncs before it returns); a segment is closed once it holds
// segmentBytes (0: 64 MiB), and allocated at that size when it opens.
func Open(dir string, sl *seal.Sealer, syncEvery time.Duration, segmentBytes int64) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if segmentBytes <= 0 {
		segmentBytes = journalRotateBytes
	}
	j := &Journal{dir: dir, seal: sl, rotateBytes: segmentBytes, markBytes: journalMarkBytes, syncEvery: syncEvery, fsync: fdatasync}
	j.written.L = &j.mu
	j.syncEnd.L = &j.mu
	seqs, err := j.files()
	if err != nil {
		return nil, err
	}
	for _, seq := range seqs {
		j.segs = append(j.segs, &segment{seq: seq})
		j.seq = seq
	}
	// New appends go to a new segment: a file that ends in a record torn by a crash is never
	// appended to. Keys stay increasing across a restart, even if the clock moved back: the
	// newest record on disk sets the floor. Trailing segments a crash left without a complete
	// record (a mapped segment still all zeros) are removed; the newest one with records is cut
	// back to them. A segment that fails to read stops the walk: queries report it.
	for len(j.segs) > 0 {
		last := *j.segs[len(j.segs)-1]
		if j.index(&last) != nil {
			break
		}
		path := j.path(last.seq)
		if len(last.marks) == 0 {
			if last.size == 0 && os.Remove(path) == nil {
				j.segs = j.segs[:len(j.segs)-1]
				continue
			}
			break
		}
		last.indexed = true
		*j.segs[len(j.segs)-1] = last
		j.lastNanos = Nanos(j.lastKey(&last))
		if fi, err := os.Stat(path); err == nil && fi.Size() > last.size {
			os.Truncate(path, last.size)
		}
		break
	}
	if syncEvery > 0 {
		j.kick, j.stopSync, j.syncDone = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
		go j.syncLoop()
	}
	return j, nil
}

func (j *Journal) path(seq int) string {
	return filepath.Join(j.dir, fmt.Sprintf("audit-%012d.log", seq))
}

// files lists the journal files, oldest first.
func (j *Journal) files() ([]int, error) {
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

// Append writes evs as one record, under ids it hands out (evs' own are ignored), and returns once it is written
// (the error is the caller's to fail on). Appends that arrive while a write is in flight are
// written together by the first of them once it finishes — one write(2) for many requests under
// load, and no waiting at all for a lone caller.
func (j *Journal) Append(evs []Event) error {
	return j.append(evs, false)
}

// AppendValid is Append for events whose entity ids the caller has checked are valid UTF-8
// (the store's checkEvents): encode does not check them again for the short form.
func (j *Journal) AppendValid(evs []Event) error {
	return j.append(evs, true)
}

func (j *Journal) append(evs []Event, validIDs bool) error {
	if len(evs) == 0 {
		return nil
	}
	if len(evs) > 0xffff {
		return errors.New("journal: too many audit events in one record")
	}
	var now time.Time // for events without a time (callers normally set it)
	for i := range evs {
		if evs[i].CreatedAt.IsZero() {
			now = time.Now().UTC()
			break
		}
	}
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return errors.New("journal closed")
	}
	if j.syncErr != nil {
		// Records before this one may not be durable: fail until a sync succeeds (now, without
		// an interval; else the syncer's next try).
		err := j.syncErr
		if j.syncEvery == 0 {
			err = j.syncTo(j.appended)
		} else {
			j.wake()
		}
		if err != nil {
			j.mu.Unlock()
			return fmt.Errorf("journal: a sync failed: %w", err)
		}
	}
	b := j.filling
	if b == nil {
		b = j.newBatch()
		j.filling = b
	}
	j.validIDs = validIDs
	err := j.encode(b, evs, now)
	j.validIDs = false
	if err != nil {
		j.mu.Unlock()
		return err
	}
	if !j.noMap && !j.writing {
		// Memory-mapped: the record is copied under the lock, no write in flight to wait for.
		done, err := j.appendMapped(b)
		if done {
			if err == nil {
				err = j.committed(j.appended)
			}
			j.mu.Unlock()
			return err
		}
	}
	for j.writing && !b.done {
		j.written.Wait()
	}
	if b.done {
		err := b.err
		if err == nil {
			err = j.committed(b.upTo)
		}
		j.mu.Unlock()
		return err
	}
	// Nothing in flight and this batch not written yet: write it (with whatever joined it).
	j.writing, j.filling = true, nil
	f, seg, err := j.segment()
	j.mu.Unlock()
	if err == nil {
		_, err = f.Write(b.buf)
	}
	j.mu.Lock()
	if err != nil {
		j.writeFailed(f, seg)
		err = fileError(err)
	} else {
		j.addMarks(seg, b.recs)
		seg.size += int64(len(b.buf))
		j.appended += uint64(len(b.recs))
		b.upTo = j.appended
		if seg.size >= j.rotateBytes {
			j.retire(f)
			j.f = nil
		}
	}
	b.err, b.done, j.writing = err, true, false
	j.freeBufs = append(j.freeBufs, batchBufs{b.buf[:0], b.recs[:0]})
	b.buf, b.recs = nil, nil
	j.written.Broadcast()
	if err == nil {
		err = j.committed(b.upTo)
	}
	j.mu.Unlock()
	return err
}

// writeFailed handles a write(2) that failed (a full disk) on seg: nothing may follow a torn
// record, so the file is cut back to its complete records and kept, or, if that fails, left
// for a new segment. A segment that never got a record is removed: failures leave no empty
// files behind. Called with j.mu held.
func (j *Journal) writeFailed(f *os.File, seg *segment) {
	if seg.size == 0 {
		j.retire(f) // a sync may be using it: the syncer closes it
		os.Remove(j.path(seg.seq))
		j.segs = j.segs[:len(j.segs)-1]
		j.seq--
		j.f = nil
		return
	}
	if f.Truncate(seg.size) != nil {
		j.retire(f)
		j.f = nil
	}
}

// appendMapped copies the batch (this caller's record alone: nothing else is waiting) into the
// mapped segment, starting one when needed. done is false when the file system cannot map
// segments; the caller then writes. Called with j.mu held.
func (j *Journal) appendMapped(b *batch) (done bool, err error) {
	if j.mapped != nil && j.segs[len(j.segs)-1].size+int64(len(b.buf)) > int64(len(j.mapped.mem)) {
		j.finishMapped()
	}
	if j.mapped == nil {
		if j.f != nil { // a write(2) segment is open: leave it, so that one file has one writer
			j.retire(j.f)
			j.f = nil
		}
		m, ok, err := mapSegment(j.path(j.seq+1), max(j.rotateBytes, int64(len(b.buf))))
		if !ok {
			j.noMap = true
			return false, nil
		}
		if err != nil {
			b.buf, b.recs = b.buf[:0], b.recs[:0]
			return true, fileError(err)
		}
		j.seq++
		j.dirDirty = true
		j.mapped = m
		j.segs = append(j.segs, &segment{seq: j.seq, indexed: true})
	}
	seg := j.segs[len(j.segs)-1]
	// The length goes in last: a crash mid-copy leaves a zero length, where readers stop.
	at := seg.size
	j.mapped.prefault(int(at) + len(b.buf))
	copy(j.mapped.mem[at+4:], b.buf[4:])
	copy(j.mapped.mem[at:at+4], b.buf[:4])
	j.addMarks(seg, b.recs)
	seg.size += int64(len(b.buf))
	j.appended += uint64(len(b.recs))
	b.buf, b.recs = b.buf[:0], b.recs[:0]
	return true, nil
}

// finishMapped unmaps the mapped segment, cut to the bytes used, and hands its file to the
// syncer.
func (j *Journal) finishMapped() error {
	if j.mapped == nil {
		return nil
	}
	f, err := j.mapped.finish(j.segs[len(j.segs)-1].size)
	j.mapped = nil
	j.retire(f)
	return err
}

// addMarks indexes the records of a batch just stored at the end of seg.
func (j *Journal) addMarks(seg *segment, recs []recordAt) {
	for _, r := range recs {
		if len(seg.marks) == 0 || seg.size+r.off-seg.marks[len(seg.marks)-1].off >= j.markBytes {
			seg.marks = append(seg.marks, mark{off: seg.size + r.off, key: ID(r.key[:])})
		}
	}
}

// batch is the records of the appends waiting for one write. Waiters hold it until they have
// read err; its buffers go back to j.freeBufs as soon as it is written.
type batch struct {
	buf  []byte
	recs []recordAt
	done bool
	err  error
	upTo uint64 // j.appended once written: what a sync must cover for its appends to be durable
}

type recordAt struct {
	off int64        // in buf
	key [KeyLen]byte // its first event's key (made an id only for a mark: no allocation)
}

type batchBufs struct {
	buf  []byte
	recs []recordAt
}

func (j *Journal) newBatch() *batch {
	b := new(batch)
	if n := len(j.freeBufs); n > 0 {
		b.buf, b.recs = j.freeBufs[n-1].buf, j.freeBufs[n-1].recs
		j.freeBufs = j.freeBufs[:n-1]
	}
	return b
}

// encode appends evs as one sealed record to b. Called with j.mu held: ids are handed out in
// the order records reach the file.
func (j *Journal) encode(b *batch, evs []Event, now time.Time) error {
	// The record's events share a key but for its last two bytes; it is later than every key
	// before it.
	nanos := now.UnixNano()
	if !evs[0].CreatedAt.IsZero() {
		nanos = evs[0].CreatedAt.UnixNano()
	}
	if nanos <= j.lastNanos {
		nanos = j.lastNanos + 1
	}
	keyTime := time.Unix(0, nanos).UTC() // events say the time their id says (queries stop on it)
	base := AppendKey(j.key[:0], time.Unix(0, nanos))
	plain := j.plain[:0]
	var stamp []byte // created_at, formatted once while events share it
	var stampOf time.Time
	var given time.Time // the CreatedAt the caller gave the previous event
	for i := range evs {
		ev := &evs[i]
		if i > 0 && ev.CreatedAt == given {
			// The previous event's time, to the bit: it becomes what that one became, stamp included.
			ev.CreatedAt = evs[i-1].CreatedAt
		} else {
			given = ev.CreatedAt
			if ev.CreatedAt.IsZero() {
				ev.CreatedAt = now
			}
			if ev.CreatedAt.Before(keyTime) {
				ev.CreatedAt = keyTime
			}
			if stamp == nil || !ev.CreatedAt.Equal(stampOf) {
				stampOf = ev.CreatedAt
				stamp = j.second.appendRFC3339Nano(j.stamp[:0], ev.CreatedAt)
				j.stamp = stamp
			}
		}
		binary.BigEndian.PutUint16(base[len(base)-2:], uint16(i))
		plain = append(plain, base...)
		// Short only for valid UTF-8: a full event's JSON turns invalid bytes into U+FFFD, and
		// both forms must read back alike.
		if i > 0 && sameButEntity(ev, &evs[0]) && len(ev.EntityID) <= 0xffff &&
			(j.validIDs || PlainASCII(ev.EntityID) || utf8.ValidString(ev.EntityID)) {
			plain = append(plain, 0, 0) // short: as the first event, with this entity id
			plain = binary.BigEndian.AppendUint16(plain, uint16(len(ev.EntityID)))
			plain = append(plain, ev.EntityID...)
			continue
		}
		var id [32]byte
		hex.Encode(id[:], base[len(KeyPrefix):])
		lenAt := len(plain)
		plain = append(plain, 0, 0) // two-byte length, filled below
		plain = appendEventJSON(plain, ev, id[:], stamp)
		n := len(plain) - lenAt - 2
		if n > 0xffff {
			return errors.New("journal: audit event too large")
		}
		binary.BigEndian.PutUint16(plain[lenAt:], uint16(n))
	}
	j.plain = plain
	j.lastNanos = nanos
	at := len(b.buf)
	b.buf = append(b.buf, 0, 0, 0, 0)
	b.buf = j.seal.Seal(b.buf, plain, journalAAD)
	binary.BigEndian.PutUint32(b.buf[at:], uint32(len(b.buf)-at-4))
	clear(plain) // no plaintext copy outlives the call
	binary.BigEndian.PutUint16(base[len(base)-2:], 0)
	b.recs = append(b.recs, recordAt{off: int64(at), key: [KeyLen]byte(base)})
	return nil
}

// segment returns the file to write to and its segment, starting a new one when needed.
// Called with j.mu held by the writer.
func (j *Journal) segment() (*os.File, *segment, error) {
	if j.mapped != nil { // leave a mapped segment (the file system stopped mapping): one writer per file
		j.finishMapped()
	}
	if j.f == nil {
		f, err := os.OpenFile(j.path(j.seq+1), os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_EXCL, 0o600)
		if err != nil {
			return nil, nil, fileError(err)
		}
		j.seq++
		j.dirDirty = true
		j.f = f
		j.segs = append(j.segs, &segment{seq: j.seq, indexed: true})
	}
	return j.f, j.segs[len(j.segs)-1], nil
}

// lastKey is the id of the last event in seg (an indexed segment with at least one mark).
func (j *Journal) lastKey(seg *segment) string {
	m := seg.marks[len(seg.marks)-1]
	evs, _ := j.readChunk(seg, m.off, seg.size)
	if len(evs) == 0 {
		return m.key
	}
	return evs[len(evs)-1].ID
}

// index reads seg's record boundaries (not their contents, but for one record per mark) into
// seg's marks and size; a torn record at the end is not counted. seg is a closed segment (no
// append can reach it) and a copy nobody else reads yet.
func (j *Journal) index(seg *segment) error {
	f, err := os.Open(j.path(seg.seq))
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 256<<10)
	var off int64
	var marks []mark
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			break // end of file, or a record cut short by a crash mid-write: its caller never proceeded
		}
		n := int(binary.BigEndian.Uint32(hdr[:]))
		if n == 0 {
			break // the unused, zeroed end of a mapped segment left by a crash
		}
		if len(marks) == 0 || off-marks[len(marks)-1].off >= j.markBytes {
			rec := make([]byte, n)
			if _, err := io.ReadFull(r, rec); err != nil {
				break
			}
			evs, err := j.decode(rec, nil)
			if err != nil {
				return fmt.Errorf("journal %s: %w", filepath.Base(j.path(seg.seq)), err)
			}
			if len(evs) > 0 {
				marks = append(marks, mark{off: off, key: evs[0].ID})
			}
		} else if _, err := r.Discard(n); err != nil {
			break
		}
		off += 4 + int64(n)
	}
	seg.marks, seg.size = marks, off
	return nil
}

// decode opens one sealed record and appends its events to dst in key order.
func (j *Journal) decode(rec []byte, dst []Event) ([]Event, error) {
	plain, err := j.seal.Open(nil, rec, journalAAD)
	if err != nil {
		return dst, ErrCorrupt
	}
	first := len(dst) // the record's first event, which short ones repeat
	for len(plain) > 0 {
		if len(plain) < KeyLen+2 {
			return dst, ErrCorrupt
		}
		key := plain[:KeyLen]
		n := int(binary.BigEndian.Uint16(plain[KeyLen:]))
		plain = plain[KeyLen+2:]
		if n == 0 { // short: entity id only
			if first == len(dst) || len(plain) < 2 {
				return dst, ErrCorrupt
			}
			n = int(binary.BigEndian.Uint16(plain))
			plain = plain[2:]
			if n > len(plain) {
				return dst, ErrCorrupt
			}
			ev := dst[first]
			ev.ID, ev.EntityID = ID(key), string(plain[:n])
			dst = append(dst, ev)
			plain = plain[n:]
			continue
		}
		if n > len(plain) {
			return dst, ErrCorrupt
		}
		var ev Event
		if err := json.Unmarshal(plain[:n], &ev); err != nil {
			return dst, ErrCorrupt
		}
		dst = append(dst, ev)
		plain = plain[n:]
	}
	return dst, nil
}

// sameButEntity reports whether a and b are the same event but for their ids and entity ids.
// The events of one request share their strings and time: those compare without a call.
func sameButEntity(a, b *Event) bool {
	return SameString(a.EntityType, b.EntityType) && SameString(a.Operation, b.Operation) &&
		SameString(a.Actor, b.Actor) && SameString(a.ProxyID, b.ProxyID) && SameString(a.Reason, b.Reason) &&
		(a.CreatedAt == b.CreatedAt || a.CreatedAt.Equal(b.CreatedAt))
}

// SameString is a == b, told by their memory when they share it (without a call).
func SameString(a, b string) bool {
	return len(a) == len(b) && (unsafe.StringData(a) == unsafe.StringData(b) || a == b)
}

// readChunk decodes the records in [from, to) of seg, in key order.
func (j *Journal) readChunk(seg *segment, from, to int64) ([]Event, error) {
	f, err := os.Open(j.path(seg.seq))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, to-from)
	if _, err := f.ReadAt(buf, from); err != nil {
		return nil, err
	}
	var evs []Event
	for len(buf) > 0 {
		if len(buf) < 4 || int(binary.BigEndian.Uint32(buf)) > len(buf)-4 {
			return nil, fmt.Errorf("journal %s: %w", filepath.Base(j.path(seg.seq)), ErrCorrupt)
		}
		n := int(binary.BigEndian.Uint32(buf))
		if evs, err = j.decode(buf[4:4+n], evs); err != nil {
			return nil, fmt.Errorf("journal %s: %w", filepath.Base(j.path(seg.seq)), err)
		}
		buf = buf[4+n:]
	}
	return evs, nil
}

// Iter walks the journal's events newest first, from just before a cursor.
type Iter struct {
	j     *Journal
	segs  []segment // a snapshot: sizes and marks as they were when the query began
	si    int       // segment being read
	ci    int       // next chunk (mark index) of it to read, going down
	buf   []Event   // the current chunk, in key order; consumed from the end
	start string    // only ids below this one ("" = all)
}

// Iter reads the events below start (an event id; "" for all), newest first.
func (j *Journal) Iter(start string) *Iter {
	j.mu.Lock()
	segs := make([]segment, 0, len(j.segs))
	for _, s := range j.segs {
		segs = append(segs, *s)
	}
	j.mu.Unlock()
	return &Iter{j: j, segs: segs, si: len(segs), start: start}
}

// enter moves the iterator to segment si, indexing it first if it is from before this process
// started (outside the journal's lock: appends only touch the newest segment, indexed from its
// start). Only queries that reach a segment read it.
func (it *Iter) enter(si int) error {
	it.si = si
	if si < 0 {
		return nil
	}
	s := &it.segs[si]
	if !s.indexed {
		if err := it.j.index(s); errors.Is(err, fs.ErrNotExist) {
			it.ci = -1 // removed by retention since the query began
			return nil
		} else if err != nil {
			return err
		}
		s.indexed = true
		it.j.mu.Lock()
		for _, js := range it.j.segs { // by number: retention may have removed older ones
			if js.seq == s.seq && !js.indexed {
				*js = *s
			}
		}
		it.j.mu.Unlock()
	}
	it.ci = len(s.marks) - 1
	return nil
}

// Next returns the next event, newest first; ok is false at the end.
func (it *Iter) Next() (ev Event, ok bool, err error) {
	for {
		for len(it.buf) > 0 {
			ev = it.buf[len(it.buf)-1]
			it.buf = it.buf[:len(it.buf)-1]
			if it.start == "" || ev.ID < it.start {
				return ev, true, nil
			}
		}
		if it.si == len(it.segs) || it.ci < 0 { // not started, or this segment is done
			if it.si <= 0 {
				it.si = -1
				return Event{}, false, nil
			}
			if err := it.enter(it.si - 1); err != nil {
				return Event{}, false, err
			}
			continue
		}
		seg := &it.segs[it.si]
		m := seg.marks[it.ci]
		end := seg.size
		if it.ci+1 < len(seg.marks) {
			end = seg.marks[it.ci+1].off
		}
		it.ci--
		if it.start != "" && m.key >= it.start {
			continue // the whole chunk is at or after the cursor
		}
		if it.buf, err = it.j.readChunk(seg, m.off, end); errors.Is(err, fs.ErrNotExist) {
			it.ci = -1 // removed by retention since the query began
			continue
		} else if err != nil {
			return Event{}, false, err
		}
	}
}

// Close syncs everything appended and closes the files.
func (j *Journal) Close() error {
	if j.stopSync != nil {
		close(j.stopSync)
		<-j.syncDone
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.writing {
		j.written.Wait()
	}
	j.closed = true
	err := j.finishMapped()
	if j.f != nil {
		j.retire(j.f)
		j.f = nil
	}
	j.syncErr = nil
	if serr := j.syncTo(j.appended); err == nil {
		err = serr
	}
	for _, f := range j.retired {
		f.Close()
	}
	j.retired = nil
	return err
}

// appendEventJSON appends ev as the JSON that encoding/json would write, without reflection.
// id is the event's id and stamp its CreatedAt already formatted (RFC 3339 with nanoseconds).
func appendEventJSON(b []byte, ev *Event, id, stamp []byte) []byte {
	b = append(b, `{"id":"`...)
	b = append(b, id...)
	b = append(b, `","entity_type":`...)
	b = appendJSONString(b, ev.EntityType)
	b = append(b, `,"entity_id":`...)
	b = appendJSONString(b, ev.EntityID)
	b = append(b, `,"operation":`...)
	b = appendJSONString(b, ev.Operation)
	b = append(b, `,"actor":`...)
	b = appendJSONString(b, ev.Actor)
	if ev.ProxyID != "" {
		b = append(b, `,"proxy_id":`...)
		b = appendJSONString(b, ev.ProxyID)
	}
	if ev.Reason != "" {
		b = append(b, `,"reason":`...)
		b = appendJSONString(b, ev.Reason)
	}
	b = append(b, `,"created_at":"`...)
	b = append(b, stamp...)
	return append(b, '"', '}')
}

// appendJSONString quotes s as a JSON string (ids and names: escape what JSON requires). Runs
// that need no escape are copied whole.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for {
		i := indexJSONEscaped(s)
		b = append(b, s[:i]...)
		if i == len(s) {
			return append(b, '"')
		}
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		default:
			b = append(b, `\u00`...)
			b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		}
		s = s[i+1:]
	}
}

// jsonEscaped marks the bytes appendJSONString escapes.
var jsonEscaped = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// secondStamp formats times as time.RFC3339Nano, keeping the date and time of day of the last
// UTC second it formatted: an event's created_at is formatted per audit record, and within a
// second only the fraction changes.
type secondStamp struct {
	sec    int64
	prefix []byte // "2006-01-02T15:04:05" of sec
}

func (c *secondStamp) appendRFC3339Nano(b []byte, t time.Time) []byte {
	if t.Location() != time.UTC {
		return t.AppendFormat(b, time.RFC3339Nano)
	}
	if sec := t.Unix(); sec != c.sec || c.prefix == nil {
		c.prefix = t.AppendFormat(c.prefix[:0], "2006-01-02T15:04:05")
		c.sec = sec
	}
	b = append(b, c.prefix...)
	if ns := t.Nanosecond(); ns != 0 {
		var frac [10]byte
		frac[0] = '.'
		for i := 9; i > 0; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 10
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, frac[:n]...)
	}
	return append(b, 'Z')
}

// DropBefore removes the segments whose every event is older than cutoff. The newest segment
// always stays. A segment's events all precede the first event of the next one, so only that
// one record is read per segment. Queries that were reading a removed segment skip it.
func (j *Journal) DropBefore(cutoff time.Time) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := 0
	for n+1 < len(j.segs) {
		first, err := j.firstKey(j.segs[n+1])
		if err != nil {
			break
		}
		if Nanos(first) >= cutoff.UnixNano() {
			break
		}
		if err := os.Remove(j.path(j.segs[n].seq)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fileError(err)
		}
		n++
	}
	if n > 0 {
		j.segs = append(j.segs[:0:0], j.segs[n:]...)
		j.dirDirty = true
	}
	return nil
}

// firstKey is the id of seg's first event: from its first mark, or its first record.
func (j *Journal) firstKey(seg *segment) (string, error) {
	if seg.indexed && len(seg.marks) > 0 {
		return seg.marks[0].key, nil
	}
	f, err := os.Open(j.path(seg.seq))
	if err != nil {
		return "", err
	}
	defer f.Close()
	var hdr [4]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return "", err
	}
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	n := int64(binary.BigEndian.Uint32(hdr[:]))
	if n == 0 || n > fi.Size()-4 {
		return "", ErrCorrupt
	}
	rec := make([]byte, n)
	if _, err := io.ReadFull(f, rec); err != nil {
		return "", err
	}
	evs, err := j.decode(rec, nil)
	if err != nil || len(evs) == 0 {
		return "", ErrCorrupt
	}
	return evs[0].ID, nil
}
