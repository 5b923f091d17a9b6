package conformance

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kubeproof/kubeproof/internal/gobuild"
)

// notInImages are packages a dependency closure names that only install
// or configure software: no program of an image runs them.
var notInImages = []string{"debconf", "cdebconf", "dpkg", "install-info", "debianutils", "tar", "readline-common", "libdebian-installer4", "libnewt0.52", "libslang2", "libtextwrap1"}

// debianRoot extracts Debian packages and everything they depend on
// (Depends and Pre-Depends, recursively) into root, the way the packages
// lay their files out; no maintainer script runs. The .deb files are
// fetched with `apt-get download` into debs (a cache: a file already
// there is used as is), which changes nothing on this machine: it reads
// the package lists apt already has.
func debianRoot(ctx context.Context, debs, root string, pkgs ...string) error {
	closure, err := dependencyClosure(ctx, pkgs)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(debs, 0o755); err != nil {
		return err
	}
	files, err := download(ctx, debs, closure)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := gobuild.Run(ctx, "", nil, "dpkg-deb", "-x", f, root); err != nil {
			return err
		}
	}
	// The loader's cache, as the packages' triggers would write it.
	if _, err := os.Stat(filepath.Join(root, "etc", "ld.so.conf")); err != nil {
		return nil // nothing here is linked dynamically
	}
	if err := gobuild.Run(ctx, "", nil, "ldconfig", "-r", root); err != nil {
		return err
	}
	// ldconfig's aux cache records inodes and times: the same packages
	// would make a different layer each time.
	return os.RemoveAll(filepath.Join(root, "var", "cache", "ldconfig"))
}

// dependencyClosure lists pkgs and their hard dependencies, virtual
// packages resolved to what apt would pick, minus notInImages.
func dependencyClosure(ctx context.Context, pkgs []string) ([]string, error) {
	args := append([]string{"depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"}, pkgs...)
	out, err := exec.CommandContext(ctx, "apt-cache", args...).Output()
	if err != nil {
		return nil, fmt.Errorf("apt-cache depends %s: %w (the package lists may be missing: run `apt-get update`)", strings.Join(pkgs, " "), err)
	}
	var closure []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, " ") || strings.HasPrefix(line, "<") || slices.Contains(notInImages, line) {
			continue
		}
		if !slices.Contains(closure, line) {
			closure = append(closure, line)
		}
	}
	for _, p := range pkgs {
		if !slices.Contains(closure, p) {
			return nil, fmt.Errorf("apt-cache depends: no package %s (run `apt-get update`, or check its name)", p)
		}
	}
	slices.Sort(closure)
	return closure, nil
}

// download fetches the packages' .deb files into dir unless there, and
// returns their paths in the order of pkgs.
func download(ctx context.Context, dir string, pkgs []string) ([]string, error) {
	have, err := downloaded(dir)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, p := range pkgs {
		if have[p] == "" {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		// apt's download sandbox user cannot write to root's cache; the
		// warning it prints about that is harmless.
		if err := gobuild.Run(ctx, dir, nil, "apt-get", append([]string{"download", "-q"}, missing...)...); err != nil {
			return nil, err
		}
		if have, err = downloaded(dir); err != nil {
			return nil, err
		}
	}
	var files []string
	for _, p := range pkgs {
		if have[p] == "" {
			return nil, fmt.Errorf("apt-get download %s gave no .deb file in %s", p, dir)
		}
		files = append(files, have[p])
	}
	return files, nil
}

// downloaded maps package names to the .deb files in dir.
func downloaded(dir string) (map[string]string, error) {
	have := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if name, _, ok := strings.Cut(e.Name(), "_"); ok && strings.HasSuffix(e.Name(), ".deb") {
			have[name] = filepath.Join(dir, e.Name())
		}
	}
	return have, nil
}
