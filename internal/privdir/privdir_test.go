package privdir

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPrivateDirRefusesWhatOthersCouldPlantIn: a directory others may write, one of another
// user and a symbolic link (to a directory of ours) are refused; a new one is made 0700, and
// one of ours that only we may write is taken as it is.
func TestPrivateDirRefusesWhatOthersCouldPlantIn(t *testing.T) {
	base := t.TempDir()
	fresh := filepath.Join(base, "fresh")
	if err := Make(fresh); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(fresh); fi.Mode().Perm() != 0o700 {
		t.Fatalf("made %v, want 0700", fi.Mode().Perm())
	}
	if err := Make(fresh); err != nil {
		t.Fatalf("our own directory, again: %v", err)
	}
	open := filepath.Join(base, "open")
	os.Mkdir(open, 0o700)
	os.Chmod(open, 0o777|os.ModeSticky)
	link := filepath.Join(base, "link")
	os.Symlink(fresh, link)
	cases := map[string]string{"writable by others": open, "symbolic link": link}
	if os.Geteuid() == 0 {
		other := filepath.Join(base, "other")
		os.Mkdir(other, 0o700)
		if err := os.Chown(other, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		cases["another user's"] = other
	}
	for name, dir := range cases {
		t.Run(name, func(t *testing.T) {
			if err := Make(dir); err == nil {
				t.Fatalf("%s accepted", dir)
			}
		})
	}
}
