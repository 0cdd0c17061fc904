package harness

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// ModuleRoot is the nearest directory at or above the working directory whose go.mod declares
// the Sluice module: the commands build the edge and the passthrough from there.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), "module github.com/sluice-edge/sluice\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the Sluice module (no go.mod of github.com/sluice-edge/sluice above the working directory)")
		}
		dir = parent
	}
}
