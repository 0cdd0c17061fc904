package pgtest

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDamagedTemplateIsReplaced: a template that lost a file since it was saved (a cleaner of
// old files in /tmp) does not stop the next cluster: it starts from a new initdb, which
// becomes the template.
func TestDamagedTemplateIsReplaced(t *testing.T) {
	bin, err := binDir()
	if err != nil {
		t.Skip(err)
	}
	shared, sharedErr := templateDir(bin)
	tmp := t.TempDir()
	for _, d := range []string{filepath.Dir(tmp), tmp} { // the postgres user walks in when we are root
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("TMPDIR", tmp)
	tmpl, _ := templateDir(bin)
	if sharedErr == nil {
		if err := os.MkdirAll(filepath.Dir(tmpl), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := copyDir(shared, tmpl); err != nil {
			t.Fatal(err)
		}
	} else { // no template on this machine yet: the first cluster makes one
		c, err := startCluster()
		if err != nil {
			t.Fatal(err)
		}
		c.stop()
	}
	control := filepath.Join(tmpl, "global", "pg_control")
	if err := os.Remove(control); err != nil {
		t.Fatalf("no template to damage: %v", err)
	}
	c, err := startCluster()
	if err != nil {
		t.Fatalf("a cluster from a damaged template: %v", err)
	}
	c.stop()
	if _, err := os.Stat(control); err != nil {
		t.Fatalf("the damaged template was not replaced: %v", err)
	}
}
