package nodeimage

import (
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

// inputDirs are the parts of the source tree that end up in the node image;
// a change to any file below them gives the image a new tag.
var inputDirs = []string{
	"nodeimage",
	"cmd/kubeproof-net", "cmd/kubeproof-runc", "cmd/kubeproof-pause",
	"cluster/dockerup/capfilter", "internal/gobuild",
}

// Tag returns the image tag for a source tree and Kubernetes version:
// kubeproof/node:<version>-<first 12 hex digits of the inputs' hash>.
func Tag(sourceDir, kubernetesVersion string) (string, error) {
	return tagFor(sourceDir, kubernetesVersion, "")
}

// UpgradeTag is the tag of the image that runs kubernetesVersion and
// carries upgradeVersion beside it:
// kubeproof/node:<version>-<upgrade version>-<12 hex digits>.
func UpgradeTag(sourceDir, kubernetesVersion, upgradeVersion string) (string, error) {
	return tagFor(sourceDir, kubernetesVersion, upgradeVersion)
}

func tagFor(sourceDir, kubernetesVersion, upgradeVersion string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "kubernetes %s\n", kubernetesVersion)
	versions := kubernetesVersion
	if upgradeVersion != "" {
		fmt.Fprintf(h, "upgrade %s\n", upgradeVersion)
		versions += "-" + upgradeVersion
	}
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
	return fmt.Sprintf("%s:%s-%s", Repository, versions, hex.EncodeToString(h.Sum(nil))[:12]), nil
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
