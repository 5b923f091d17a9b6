package runner

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/kubeproof/kubeproof/internal/paths"
)

// The binaries shipped next to kubeproof (make build puts them in bin/).
const (
	ginkgoBinary = "ginkgo"
	suitesBinary = "kubeproof-suites.test"
)

// suiteBinaries finds the ginkgo CLI and the compiled suites next to this
// executable, or builds them from the source tree into the cache.
func suiteBinaries(ctx context.Context) (ginkgo, suites string, err error) {
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Dir(exe)
		g, s := filepath.Join(dir, ginkgoBinary), filepath.Join(dir, suitesBinary)
		if exists(g) && exists(s) {
			return g, s, nil
		}
	}
	src, err := paths.SourceDir()
	if err != nil {
		return "", "", fmt.Errorf("%s and %s not found next to kubeproof (make build puts them there): %w", ginkgoBinary, suitesBinary, err)
	}
	dir := filepath.Join(paths.CacheDir(), "bin")
	ginkgo, suites = filepath.Join(dir, ginkgoBinary), filepath.Join(dir, suitesBinary)
	for _, args := range [][]string{
		{"build", "-o", ginkgo, "github.com/onsi/ginkgo/v2/ginkgo"},
		{"test", "-c", "-o", suites, "./suites"},
	} {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = src
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("go %v: %w: %s", args, err, out)
		}
	}
	return ginkgo, suites, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
