// Package paths says where kubeproof keeps things on this machine: its
// cache (images, binaries, build trees), its state (fault journal, the
// clusters it created) and the source tree it builds from when a binary is
// not shipped next to it.
package paths

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// modulePath identifies the kubeproof source tree.
const modulePath = "github.com/kubeproof/kubeproof"

// CacheDir is kubeproof's cache: $XDG_CACHE_HOME/kubeproof or
// ~/.cache/kubeproof, else a directory under the system's temp dir.
func CacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "kubeproof")
}

// StateDir is where kubeproof keeps what must outlive a process (the
// fault journal, the clusters it created): $KUBEPROOF_STATE_DIR, else
// $XDG_STATE_HOME/kubeproof, else ~/.local/state/kubeproof.
func StateDir() string {
	if d := os.Getenv("KUBEPROOF_STATE_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "kubeproof")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "kubeproof-state")
	}
	return filepath.Join(home, ".local", "state", "kubeproof")
}

// SourceDir finds the kubeproof module root above the working directory,
// or above the running executable.
func SourceDir() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, dir := range starts {
		for {
			if isModuleRoot(dir) {
				return dir, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", fmt.Errorf("kubeproof source tree not found above the working directory (run from a clone of %s)", modulePath)
}

func isModuleRoot(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "module ") {
			return strings.TrimSpace(strings.TrimPrefix(line, "module")) == modulePath
		}
	}
	return false
}
