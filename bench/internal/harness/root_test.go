package harness

import (
	"os"
	"path/filepath"
	"testing"
)

func TestModuleRoot(t *testing.T) {
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "bench", "cmd", "e2e", "main.go")); err != nil {
		t.Fatalf("module root %s: %v", root, err)
	}
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	os.Chdir(t.TempDir())
	if _, err := ModuleRoot(); err == nil {
		t.Fatal("found a module root outside the module")
	}
}
