package pgtest

import (
	"os"
	"path/filepath"
	"testing"
)

// TestTemplatePlantedInADirectoryOthersMayWriteIsNotUsed: the templates live in the machine's
// shared temporary directory. When the directory of templates is writable by other users (or
// theirs), a template found there may be theirs — a postgresql.conf whose archive_command runs
// as the tester — so it is neither used nor written: initdb runs as without a template.
func TestTemplatePlantedInADirectoryOthersMayWriteIsNotUsed(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "initdb"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tmpl, _ := templateDir(bin) // where this PostgreSQL's template would be
	if tmpl == "" {
		t.Fatal("no template directory in a fresh temporary directory of ours")
	}
	if err := os.MkdirAll(tmpl, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmpl, "PG_VERSION"), []byte("15\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if dir, err := templateDir(bin); err != nil || dir != tmpl {
		t.Fatalf("our own template: %q, %v", dir, err)
	}
	if err := os.Chmod(filepath.Dir(tmpl), 0o777|os.ModeSticky); err != nil { // as /tmp is
		t.Fatal(err)
	}
	if dir, err := templateDir(bin); err == nil || dir != "" {
		t.Fatalf("a template in a directory others may write is used: %q, %v", dir, err)
	}
}
