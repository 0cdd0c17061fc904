package expr

import (
	"strconv"
	"time"
)

// The strftime subset of date_format (Footprint's filter: strftime in,
// strftime out). Directives:
//
//	%Y 4-digit year      %y 2-digit year (69–99 → 19xx, else 20xx)
//	%m month 01–12       %d day 01–31         %e day, space-padded
//	%H hour 00–23        %I hour 01–12        %p AM/PM
//	%M minute            %S second            %j day of the year 001–366
//	%b %h month abbrev   %B month name        %a %A weekday (ignored on input)
//	%F = %Y-%m-%d        %T = %H:%M:%S        %D = %m/%d/%y   %R = %H:%M
//	%% a percent sign
//
// Output formats also take Ruby's (Liquid's date filter):
//
//	%s Unix seconds      %u weekday 1–7 (Monday 1)   %w weekday 0–6 (Sunday 0)
//	%k hour, space-padded %l 12-hour hour, space-padded   %P am/pm
//	%L milliseconds (000) and the flag - (%-d, %-m, …): a number without padding
//
// On input, numbers take 1 to 2 digits (%Y exactly 4, %j 1 to 3), names are
// case-insensitive (full or abbreviated), other characters must match
// exactly, and the whole value must be consumed. Missing fields default to
// 1900-01-01 00:00:00 (as Python's strptime). Dates are validated (no
// February 30).

type date struct {
	year, month, day, hour, min, sec int
	hour12, pm, yday                 int // -1 when not given
}

var monthNames = [12]string{"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December"}

var dayNames = [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

func expansion(c byte) string {
	switch c {
	case 'F':
		return "%Y-%m-%d"
	case 'T':
		return "%H:%M:%S"
	case 'D':
		return "%m/%d/%y"
	case 'R':
		return "%H:%M"
	}
	return ""
}

// checkStrftime returns "" if every directive of f is supported, in an
// output format when out is true.
func checkStrftime(f []byte, out bool) string {
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		i++
		if out && i < len(f) && f[i] == '-' {
			i++
			if i < len(f) && !unpaddable(f[i]) {
				return "the flag - does not apply to %" + string(f[i])
			}
		}
		if i == len(f) {
			return "format ends with '%'"
		}
		switch f[i] {
		case 'Y', 'y', 'm', 'd', 'e', 'H', 'I', 'p', 'M', 'S', 'j', 'b', 'h', 'B', 'a', 'A', 'F', 'T', 'D', 'R', '%':
		case 's', 'u', 'w', 'k', 'l', 'P', 'L':
			if !out {
				return "directive %" + string(f[i]) + " is for output only"
			}
		default:
			return "unsupported directive %" + string(f[i])
		}
	}
	return ""
}

// unpaddable reports whether the flag - applies to directive c: it prints a
// padded number.
func unpaddable(c byte) bool {
	switch c {
	case 'y', 'm', 'd', 'e', 'H', 'I', 'M', 'S', 'j', 'k', 'l':
		return true
	}
	return false
}

// parseStrftime parses s with layout.
func parseStrftime(layout, s []byte) (date, bool) {
	d := date{year: 1900, month: 1, day: 1, hour12: -1, pm: -1, yday: -1}
	n, ok := d.parse(layout, s, 0)
	if !ok || n != len(s) {
		return d, false
	}
	if d.hour12 >= 0 {
		if d.hour12 < 1 || d.hour12 > 12 {
			return d, false
		}
		d.hour = d.hour12 % 12
		if d.pm == 1 {
			d.hour += 12
		}
	} else if d.pm >= 0 {
		if d.hour > 12 || d.hour == 0 {
			return d, false
		}
		d.hour %= 12
		if d.pm == 1 {
			d.hour += 12
		}
	}
	if d.yday >= 0 {
		if d.yday < 1 || d.yday > 366 {
			return d, false
		}
		t := time.Date(d.year, 1, d.yday, 0, 0, 0, 0, time.UTC)
		if t.Year() != d.year {
			return d, false
		}
		d.month, d.day = int(t.Month()), t.Day()
	}
	if d.month < 1 || d.month > 12 || d.day < 1 || d.hour > 23 || d.min > 59 || d.sec > 59 {
		return d, false
	}
	t := time.Date(d.year, time.Month(d.month), d.day, 0, 0, 0, 0, time.UTC)
	if t.Day() != d.day {
		return d, false
	}
	return d, true
}

func (d *date) parse(layout, s []byte, i int) (int, bool) {
	for k := 0; k < len(layout); k++ {
		c := layout[k]
		if c != '%' {
			if i >= len(s) || s[i] != c {
				return i, false
			}
			i++
			continue
		}
		k++
		if k >= len(layout) {
			return i, false
		}
		dir := layout[k]
		if e := expansion(dir); e != "" {
			var ok bool
			if i, ok = d.parse(sbytes(e), s, i); !ok {
				return i, false
			}
			continue
		}
		var ok bool
		switch dir {
		case '%':
			if i >= len(s) || s[i] != '%' {
				return i, false
			}
			i++
			ok = true
		case 'Y':
			d.year, i, ok = digits(s, i, 4, 4)
		case 'y':
			var y int
			if y, i, ok = digits(s, i, 2, 2); ok {
				if y >= 69 {
					d.year = 1900 + y
				} else {
					d.year = 2000 + y
				}
			}
		case 'm':
			d.month, i, ok = digits(s, i, 1, 2)
		case 'd':
			d.day, i, ok = digits(s, i, 1, 2)
		case 'e':
			if i < len(s) && s[i] == ' ' {
				i++
			}
			d.day, i, ok = digits(s, i, 1, 2)
		case 'H':
			d.hour, i, ok = digits(s, i, 1, 2)
		case 'I':
			d.hour12, i, ok = digits(s, i, 1, 2)
		case 'M':
			d.min, i, ok = digits(s, i, 1, 2)
		case 'S':
			d.sec, i, ok = digits(s, i, 1, 2)
		case 'j':
			d.yday, i, ok = digits(s, i, 1, 3)
		case 'p':
			switch {
			case i+2 <= len(s) && equalFold(s[i:i+2], "am"):
				d.pm, i, ok = 0, i+2, true
			case i+2 <= len(s) && equalFold(s[i:i+2], "pm"):
				d.pm, i, ok = 1, i+2, true
			}
		case 'b', 'h', 'B':
			var m int
			if m, i, ok = name(s, i, monthNames[:]); ok {
				d.month = m + 1
			}
		case 'a', 'A':
			_, i, ok = name(s, i, dayNames[:])
		}
		if !ok {
			return i, false
		}
	}
	return i, true
}

func digits(s []byte, i, min, max int) (int, int, bool) {
	n, k := 0, 0
	for ; k < max && i+k < len(s) && '0' <= s[i+k] && s[i+k] <= '9'; k++ {
		n = n*10 + int(s[i+k]-'0')
	}
	return n, i + k, k >= min
}

// name matches a full or 3-letter name, case-insensitively; full first.
func name(s []byte, i int, names []string) (int, int, bool) {
	for idx, nm := range names {
		if i+len(nm) <= len(s) && equalFold(s[i:i+len(nm)], nm) {
			return idx, i + len(nm), true
		}
	}
	for idx, nm := range names {
		if i+3 <= len(s) && equalFold(s[i:i+3], nm[:3]) {
			return idx, i + 3, true
		}
	}
	return 0, i, false
}

// appendStrftime formats d with layout onto out.
func appendStrftime(out, layout []byte, d date) []byte {
	t := time.Date(d.year, time.Month(d.month), d.day, d.hour, d.min, d.sec, 0, time.UTC)
	for k := 0; k < len(layout); k++ {
		c := layout[k]
		if c != '%' || k+1 >= len(layout) {
			out = append(out, c)
			continue
		}
		k++
		dir := layout[k]
		if dir == '-' && k+1 < len(layout) {
			k++
			out = appendUnpadded(out, layout[k], d, t)
			continue
		}
		if e := expansion(dir); e != "" {
			out = appendStrftime(out, sbytes(e), d)
			continue
		}
		switch dir {
		case 'Y':
			out = appendPad(out, d.year, 4)
		case 'y':
			out = appendPad(out, d.year%100, 2)
		case 'm':
			out = appendPad(out, d.month, 2)
		case 'd':
			out = appendPad(out, d.day, 2)
		case 'e':
			if d.day < 10 {
				out = append(out, ' ')
			}
			out = appendPad(out, d.day, 1)
		case 'H':
			out = appendPad(out, d.hour, 2)
		case 'I':
			out = appendPad(out, hour12(d.hour), 2)
		case 'p':
			if d.hour < 12 {
				out = append(out, "AM"...)
			} else {
				out = append(out, "PM"...)
			}
		case 'M':
			out = appendPad(out, d.min, 2)
		case 'S':
			out = appendPad(out, d.sec, 2)
		case 'j':
			out = appendPad(out, t.YearDay(), 3)
		case 'b', 'h':
			out = append(out, monthNames[d.month-1][:3]...)
		case 'B':
			out = append(out, monthNames[d.month-1]...)
		case 'a':
			out = append(out, dayNames[t.Weekday()][:3]...)
		case 'A':
			out = append(out, dayNames[t.Weekday()]...)
		case 's':
			out = strconv.AppendInt(out, t.Unix(), 10)
		case 'u':
			out = appendPad(out, (int(t.Weekday())+6)%7+1, 1)
		case 'w':
			out = appendPad(out, int(t.Weekday()), 1)
		case 'k', 'l':
			h := d.hour
			if dir == 'l' {
				h = hour12(h)
			}
			if h < 10 {
				out = append(out, ' ')
			}
			out = appendPad(out, h, 1)
		case 'P':
			if d.hour < 12 {
				out = append(out, "am"...)
			} else {
				out = append(out, "pm"...)
			}
		case 'L':
			out = append(out, "000"...)
		default: // '%'
			out = append(out, '%')
		}
	}
	return out
}

func hour12(h int) int {
	if h %= 12; h == 0 {
		return 12
	}
	return h
}

// appendUnpadded prints the number of directive dir (checked by
// unpaddable) without padding.
func appendUnpadded(out []byte, dir byte, d date, t time.Time) []byte {
	n := 0
	switch dir {
	case 'y':
		n = d.year % 100
	case 'm':
		n = d.month
	case 'd', 'e':
		n = d.day
	case 'H', 'k':
		n = d.hour
	case 'I', 'l':
		n = hour12(d.hour)
	case 'M':
		n = d.min
	case 'S':
		n = d.sec
	case 'j':
		n = t.YearDay()
	}
	return appendPad(out, n, 1)
}
