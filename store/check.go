package store

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxField bounds each id and audit-event field a vault keeps, in bytes: far above any id the
// API accepts (400 characters) and within what every backend indexes.
const maxField = 4096

// storable reports whether s can be kept as text by every backend alike: valid UTF-8 (JSON
// would change anything else), no NUL byte (PostgreSQL's text refuses it), at most maxField
// bytes.
func storable(s string) bool {
	return len(s) <= maxField && utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
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

// checkEvents is checkEvent for each of evs.
func checkEvents(evs []Event) error {
	for i := range evs {
		if err := checkEvent(&evs[i]); err != nil {
			return err
		}
	}
	return nil
}

// checkWrite refuses a mutation of the record id whose event or id a backend could not keep.
func checkWrite(id string, ev *Event) error {
	if !storable(id) {
		return fmt.Errorf("%w: an id is not valid UTF-8, holds a NUL byte or exceeds %d bytes", ErrInvalidInput, maxField)
	}
	return checkEvent(ev)
}
