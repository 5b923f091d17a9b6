// Package paths says where kubeproof keeps things on this machine: its
// cache (images, binaries, build trees) and the source tree it builds
// from when a binary is not shipped next to it.
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
