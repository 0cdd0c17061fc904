package expr

import (
	"unicode"
	"unicode/utf8"
)

// to_ascii (Footprint) transliterates text to ASCII. Latin letters with
// diacritics (Latin-1 Supplement and Latin Extended-A) lose them (é → e,
// Ł → L), ligatures and special letters are spelled out (Æ → AE, ß → ss,
// Þ → TH), typographic punctuation becomes its ASCII look-alike (’ → ', “ → ",
// – — → -, … → ..., no-break space → space). Any other non-ASCII character
// becomes '?'. ASCII passes through unchanged.

// latin1 maps U+00C0..U+00FF to lower-case ASCII spellings ("" = no letter).
var latin1 = [64]string{
	"a", "a", "a", "a", "a", "a", "ae", "c", // À..Ç
	"e", "e", "e", "e", "i", "i", "i", "i", // È..Ï
	"d", "n", "o", "o", "o", "o", "o", "x", // Ð..×
	"o", "u", "u", "u", "u", "y", "th", "ss", // Ø..ß
	"a", "a", "a", "a", "a", "a", "ae", "c", // à..ç
	"e", "e", "e", "e", "i", "i", "i", "i", // è..ï
	"d", "n", "o", "o", "o", "o", "o", "/", // ð..÷
	"o", "u", "u", "u", "u", "y", "th", "y", // ø..ÿ
}

// latinA maps ranges of U+0100..U+017F to their base letters.
var latinA = [...]struct {
	lo, hi rune
	s      string
}{
	{0x100, 0x105, "a"}, {0x106, 0x10D, "c"}, {0x10E, 0x111, "d"}, {0x112, 0x11B, "e"},
	{0x11C, 0x123, "g"}, {0x124, 0x127, "h"}, {0x128, 0x131, "i"}, {0x132, 0x133, "ij"},
	{0x134, 0x135, "j"}, {0x136, 0x138, "k"}, {0x139, 0x142, "l"}, {0x143, 0x149, "n"},
	{0x14A, 0x14B, "ng"}, {0x14C, 0x151, "o"}, {0x152, 0x153, "oe"}, {0x154, 0x159, "r"},
	{0x15A, 0x161, "s"}, {0x162, 0x167, "t"}, {0x168, 0x173, "u"}, {0x174, 0x175, "w"},
	{0x176, 0x178, "y"}, {0x179, 0x17E, "z"}, {0x17F, 0x17F, "s"},
}

func asciiOf(r rune) string {
	switch {
	case 0xC0 <= r && r <= 0xFF:
		return latin1[r-0xC0]
	case 0x100 <= r && r <= 0x17F:
		for _, e := range latinA {
			if e.lo <= r && r <= e.hi {
				return e.s
			}
		}
	}
	switch r {
	case 0xA0, 0x2002, 0x2003, 0x2009, 0x202F:
		return " "
	case 0x2018, 0x2019, 0x201A, 0x2032:
		return "'"
	case 0x201C, 0x201D, 0x201E, 0x2033, 0xAB, 0xBB:
		return "\""
	case 0x2010, 0x2011, 0x2012, 0x2013, 0x2014, 0x2212:
		return "-"
	case 0x2026:
		return "..."
	case 0xA9:
		return "(c)"
	case 0xAE:
		return "(r)"
	}
	return ""
}

func appendASCII(out, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		i += size
		t := asciiOf(r)
		if t == "" {
			out = append(out, '?')
			continue
		}
		if unicode.IsUpper(r) {
			for k := 0; k < len(t); k++ {
				ch := t[k]
				if 'a' <= ch && ch <= 'z' {
					ch -= 'a' - 'A'
				}
				out = append(out, ch)
			}
			continue
		}
		out = append(out, t...)
	}
	return out
}
