package nodeimage

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// modulePath identifies the kubeproof source tree.
const modulePath = "github.com/kubeproof/kubeproof"

// inputDirs are the parts of the source tree that end up in the node image;
// a change to any file below them gives the image a new tag.
var inputDirs = []string{
	"nodeimage",
	"cmd/kubeproof-net", "cmd/kubeproof-runc", "cmd/kubeproof-pause",
	"internal/podnet", "internal/capfilter",
}

// Tag returns the image tag for a source tree and Kubernetes version:
// kubeproof/node:<version>-<first 12 hex digits of the inputs' hash>.
func Tag(sourceDir, kubernetesVersion string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "kubernetes %s\n", kubernetesVersion)
	var files []string
	for _, d := range inputDirs {
		root := filepath.Join(sourceDir, d)
		err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.Type().IsRegular() && !strings.HasSuffix(p, "_test.go") {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("hash node image inputs: %w", err)
		}
	}
	// The modules the node binaries link, not all of go.sum: a new
	// dependency of the suites must not rebuild the node image.
	deps, err := moduleDeps(sourceDir)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(h, "modules %s\n", deps)
	sort.Strings(files)
	for _, f := range files {
		rel, _ := filepath.Rel(sourceDir, f)
		fmt.Fprintf(h, "file %s\n", filepath.ToSlash(rel))
		in, err := os.Open(f)
		if err != nil {
			return "", err
		}
		_, err = io.Copy(h, in)
		in.Close()
		if err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("%s:%s-%s", Repository, kubernetesVersion, hex.EncodeToString(h.Sum(nil))[:12]), nil
}

func moduleDeps(sourceDir string) (string, error) {
	args := []string{"list", "-deps", "-f", "{{with .Module}}{{.Path}}@{{.Version}}{{end}}"}
	for _, c := range ownCommands {
		args = append(args, "./cmd/"+c)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = sourceDir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("list node binary modules: %w", err)
	}
	seen := map[string]bool{}
	var mods []string
	for _, m := range strings.Fields(string(out)) {
		if !seen[m] {
			seen[m] = true
			mods = append(mods, m)
		}
	}
	sort.Strings(mods)
	return strings.Join(mods, " "), nil
}

// FindSourceDir finds the kubeproof module root above the working
// directory, or above the running executable.
func FindSourceDir() (string, error) {
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
	return "", fmt.Errorf("kubeproof source tree not found above the working directory: building a node image needs it (run from a clone of %s)", modulePath)
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
