package store

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzStorableAgreesWithDefinition: the ASCII shortcut must not let through what the plain
// definition refuses (invalid UTF-8, a NUL byte, too long), nor refuse what it accepts.
func FuzzStorableAgreesWithDefinition(f *testing.F) {
	for _, s := range []string{"", "token", "detokenize", strings.Repeat("a", maxField), strings.Repeat("a", maxField+1),
		"abcdefg\x00", "\xff", "héllo wörld", "abcdefgh\xc3", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := len(s) <= maxField && utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
		if got := storable(s); got != want {
			t.Fatalf("storable(%q) = %v, want %v", s, got, want)
		}
	})
}

// TestCheckEventsRefusesBadFieldBehindGoodFirstEvent: fields equal to the first event's are
// not checked again, so a bad entity id in a later event sharing everything else, or a bad
// field that differs from the first event's, must still be refused.
func TestCheckEventsRefusesBadFieldBehindGoodFirstEvent(t *testing.T) {
	first := Event{EntityType: "token", EntityID: "t1", Operation: "detokenize", Actor: "app", ProxyID: "px", Reason: "r"}
	for _, tc := range []struct {
		name string
		edit func(*Event)
	}{
		{"entity id with NUL", func(e *Event) { e.EntityID = "t\x002" }},
		{"entity id not UTF-8", func(e *Event) { e.EntityID = "t\xff" }},
		{"entity id too long", func(e *Event) { e.EntityID = strings.Repeat("t", maxField+1) }},
		{"reason not UTF-8", func(e *Event) { e.Reason = "r\xff" }},
		{"actor with NUL", func(e *Event) { e.Actor = "a\x00" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			second := first
			second.EntityID = "t2"
			tc.edit(&second)
			if err := checkEvents([]Event{first, second}); !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("checkEvents = %v, want ErrInvalidInput", err)
			}
		})
	}
	if err := checkEvents([]Event{first, first, first}); err != nil {
		t.Fatalf("valid events refused: %v", err)
	}
}
