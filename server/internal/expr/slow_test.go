package expr

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestSlowCorpus(t *testing.T) {
	for _, target := range []string{"FuzzScan", "FuzzStream"} {
		dir := filepath.Join(os.Getenv("FZDIR"), target)
		files, _ := os.ReadDir(dir)
		for _, f := range files {
			b, _ := os.ReadFile(filepath.Join(dir, f.Name()))
			lines := strings.Split(string(b), "\n")
			q := strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")")
			src, err := strconv.Unquote(q)
			if err != nil { t.Log(err); continue }
			c := strings.TrimSuffix(strings.TrimPrefix(lines[2], "byte("), ")")
			cv, _ := strconv.ParseUint(strings.TrimPrefix(c, "'"), 0, 8)
			ctx := Context(cv % 5)
			start := time.Now()
			Scan([]byte(src), ctx, nil)
			r := Acquire(); r.Render(nil, []byte(src), ctx, newAnyEnv("v\"}")); Release(r)
			d1 := time.Since(start)
			start = time.Now()
			streamAll(t, []byte(src), ctx, newAnyEnv("v\"}"), iotest.OneByteReader(bytes.NewReader([]byte(src))))
			d2 := time.Since(start)
			if d1 > 5*time.Millisecond || d2 > 20*time.Millisecond {
				t.Logf("%s %s len=%d ctx=%v scan+render=%v stream=%v", target, f.Name(), len(src), ctx, d1, d2)
			}
		}
	}
}
