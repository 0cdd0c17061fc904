package proxy

import (
	"bytes"
	"testing"
)

// FuzzCheckBodyCharset: any Content-Type value is judged without a panic, the same in any letter
// case, and a gbk charset parameter after any other parameters is refused (unless a form).
func FuzzCheckBodyCharset(f *testing.F) {
	for _, s := range []string{"application/json; charset=gbk", `text/plain;charset="utf-8"`, "a/b;;=;charset", "application/x-www-form-urlencoded;charset=sjis", ";", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ct string) {
		err := checkBodyCharset([]byte(ct))
		if up := checkBodyCharset(bytes.ToUpper([]byte(ct))); (err == nil) != (up == nil) {
			t.Fatalf("%q: %v, upper case %v", ct, err, up)
		}
		if bytes.ContainsRune([]byte(ct), ';') && !bytes.Contains(bytes.ToLower([]byte(ct)), []byte("charset")) {
			withGBK := "application/json" + ct[bytes.IndexByte([]byte(ct), ';'):] + ";charset=gbk"
			if checkBodyCharset([]byte(withGBK)) == nil {
				t.Fatalf("%q passes", withGBK)
			}
		}
	})
}
