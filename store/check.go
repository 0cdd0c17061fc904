package store

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/sluice-edge/sluice/store/internal/journal"
)

// maxField bounds each id and audit-event field a vault keeps, in bytes: far above any id the
// API accepts (400 characters) and within what every backend indexes.
const maxField = 4096

// storable reports whether s can be kept as text by every backend alike: valid UTF-8 (JSON
// would change anything else), no NUL byte (PostgreSQL's text refuses it), at most maxField
// bytes. Ids and names are plain ASCII, which one word-at-a-time pass confirms; anything else
// is checked in full.
func storable(s string) bool {
	return len(s) <= maxField && (journal.PlainASCII(s) || utf8.ValidString(s) && strings.IndexByte(s, 0) < 0)
}

// checkEvent refuses an event that a backend could not keep as given. Mutating methods check
// their event before they change anything: a refused event means no mutation.
func checkEvent(ev *Event) error {
	if storable(ev.EntityType) && storable(ev.EntityID) && storable(ev.Operation) && storable(ev.Actor) && storable(ev.ProxyID) &&
		storable(ev.Reason) {
		return nil
	}
	return fmt.Errorf("%w: an audit event field is not valid UTF-8, holds a NUL byte or exceeds %d bytes", ErrInvalidInput, maxField)
}

// checkEvents is checkEvent for each of evs. The events of one proxied request differ only in
// their entity ids: a field equal to the first event's was checked with it (comparing strings
// that share their bytes costs a pointer compare).
func checkEvents(evs []Event) error {
	for i := range evs {
		ev := &evs[i]
		if i > 0 && sameButEntityID(ev, &evs[0]) {
			if !storable(ev.EntityID) {
				return checkEvent(ev)
			}
			continue
		}
		if err := checkEvent(ev); err != nil {
			return err
		}
	}
	return nil
}

func sameButEntityID(a, b *Event) bool {
	return journal.SameString(a.EntityType, b.EntityType) && journal.SameString(a.Operation, b.Operation) &&
		journal.SameString(a.Actor, b.Actor) && journal.SameString(a.ProxyID, b.ProxyID) && journal.SameString(a.Reason, b.Reason)
}

// checkWrite refuses a mutation of the record id whose event or id a backend could not keep.
func checkWrite(id string, ev *Event) error {
	if !storable(id) {
		return fmt.Errorf("%w: an id is not valid UTF-8, holds a NUL byte or exceeds %d bytes", ErrInvalidInput, maxField)
	}
	return checkEvent(ev)
}
