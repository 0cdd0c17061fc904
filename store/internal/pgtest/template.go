package pgtest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/sluice-edge/sluice/internal/privdir"
)

// initdbArgs make the data directory of every throwaway cluster. WAL segments of 1 MiB rather
// than 16: every cluster starts from a copy of the template, and copying its first segment was
// two thirds of the copy's cost.
var initdbArgs = []string{"-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--wal-segsize=1"}

// initData fills c.data with a new cluster. initdb costs seconds of CPU and every test binary
// of a `go test ./...` with PostgreSQL tests needs a cluster, so the first initdb on a machine
// is kept as a template (per PostgreSQL build) and later clusters are copies of it. A template
// that cannot be read or written costs only the copy: initdb runs as before. It returns the
// template the data was copied from ("" after initdb).
func (c *Cluster) initData() (copiedFrom string, err error) {
	tmpl, err := templateDir(c.bin)
	if err == nil && copyDir(tmpl, c.data) == nil {
		return tmpl, nil
	}
	os.RemoveAll(c.data)
	if out, err := c.command("initdb", append([]string{"-D", c.data}, initdbArgs...)...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("initdb: %v: %s", err, out)
	}
	if tmpl != "" {
		saveTemplate(c.data, tmpl)
	}
	return "", nil
}

// templateDir is where the template of the PostgreSQL in bin lives: under a hash of its
// initdb (path, size, modification time) and of initdbArgs, so an upgrade makes a new one;
// "" when the shared directory of templates is not this user's alone.
func templateDir(bin string) (string, error) {
	fi, err := os.Stat(filepath.Join(bin, "initdb"))
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s %d %d %q", bin, fi.Size(), fi.ModTime().UnixNano(), initdbArgs)
	// Only a directory of ours: a template planted by another user of the machine would run
	// their configuration (archive_command and the like) as ours.
	parent := filepath.Join(os.TempDir(), "sluice-pgtemplate")
	if err := privdir.Make(parent); err != nil {
		return "", err
	}
	dir := filepath.Join(parent, hex.EncodeToString(h.Sum(nil)[:8]))
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); err != nil {
		return dir, err
	}
	return dir, nil
}

// saveTemplate publishes a copy of data as the template tmpl. The copy is made aside and
// renamed into place, so a reader sees a whole template or none; when two binaries race, the
// first rename wins. Leftovers of killed runs are removed.
func saveTemplate(data, tmpl string) {
	parent := filepath.Dir(tmpl)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return
	}
	old, _ := filepath.Glob(filepath.Join(parent, "tmp-*"))
	for _, d := range old {
		if fi, err := os.Stat(d); err == nil && time.Since(fi.ModTime()) > 10*time.Minute {
			os.RemoveAll(d)
		}
	}
	tmp, err := os.MkdirTemp(parent, "tmp-")
	if err != nil {
		return
	}
	defer os.RemoveAll(tmp)
	if copyDir(data, filepath.Join(tmp, "data")) == nil {
		os.Rename(filepath.Join(tmp, "data"), tmpl)
	}
}

// copyDir copies the directory src to dst (which must not exist), keeping modes and, when the
// process is root, owners (PostgreSQL refuses a data directory that others may read, or that
// its user does not own). It copies in-process: cp -a spent a system call on extended
// attributes and an unmapped buffer per file, five times the CPU of this loop and a second of
// wall time on the VM, at the start of every test binary with a cluster.
func copyDir(src, dst string) error {
	buf := make([]byte, 256<<10)
	err := filepath.WalkDir(src, func(from string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, from)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case fi.IsDir():
			err = os.Mkdir(to, 0o700)
		case fi.Mode().IsRegular():
			err = copyFile(from, to, buf)
		case fi.Mode()&fs.ModeSymlink != 0:
			var target string
			if target, err = os.Readlink(from); err == nil {
				err = os.Symlink(target, to)
			}
			return err
		default:
			return fmt.Errorf("%s is neither a file nor a directory", from)
		}
		if err == nil {
			err = os.Chmod(to, fi.Mode().Perm())
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && err == nil && os.Geteuid() == 0 {
			err = os.Lchown(to, int(st.Uid), int(st.Gid))
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("pgtest: copy %s: %w", src, err)
	}
	return nil
}

// copyFile copies the regular file from to the new file to, through buf.
func copyFile(from, to string, buf []byte) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.CopyBuffer(onlyWriter{out}, in, buf); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// onlyWriter hides the file's ReadFrom from io.CopyBuffer: across file systems (the template
// on disk, the cluster in RAM) copy_file_range fails on each file before the plain copy.
type onlyWriter struct{ io.Writer }
