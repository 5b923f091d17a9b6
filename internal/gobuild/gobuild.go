// Package gobuild builds Go programs from the Go module proxy into a cache:
// a throwaway module per thing built, which requires it at an exact
// version so that go.sum pins it and the proxy is the only source. The
// node image builds Kubernetes, etcd and CoreDNS this way; the conformance
// suite builds e2e.test and the test images' programs.
package gobuild

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// Module is a throwaway module in the cache that requires what we build.
type Module struct {
	Dir      string
	Requires []string // "path version"
	Replaces []string // "path => path version"
	Mains    []string // packages to build, pinned by a tools.go
}

// Write writes go.mod and tools.go (only when they change: a changed
// go.mod drops go.sum) and resolves go.sum once.
func (m Module) Write(ctx context.Context) error {
	if err := os.MkdirAll(m.Dir, 0o755); err != nil {
		return err
	}
	var mod strings.Builder
	mod.WriteString("module kubeproof.local/build\n\ngo 1.24\n\n")
	for _, r := range m.Requires {
		fmt.Fprintf(&mod, "require %s\n", r)
	}
	for _, r := range m.Replaces {
		fmt.Fprintf(&mod, "replace %s\n", r)
	}
	var tools strings.Builder
	tools.WriteString("//go:build tools\n\n// Package build only pins the commands kubeproof builds.\npackage build\n\nimport (\n")
	for _, p := range m.Mains {
		fmt.Fprintf(&tools, "\t_ %q\n", p)
	}
	tools.WriteString(")\n")
	if err := writeIfChanged(filepath.Join(m.Dir, "go.mod"), mod.String()); err != nil {
		return err
	}
	if err := writeIfChanged(filepath.Join(m.Dir, "tools.go"), tools.String()); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(m.Dir, "go.sum")); err == nil {
		return nil
	}
	return Run(ctx, m.Dir, nil, "go", "mod", "tidy")
}

// Build compiles main packages into outDir as static binaries named by
// outputs (package -> binary name).
func (m Module) Build(ctx context.Context, outDir, ldflags string, outputs map[string]string) error {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	for pkg, name := range outputs {
		err := atomically(filepath.Join(outDir, name), func(out string) error {
			return Run(ctx, m.Dir, []string{"CGO_ENABLED=0"}, "go", "build", "-trimpath", "-ldflags", "-s -w "+ldflags, "-o", out, pkg)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// TestBinary compiles the tests of pkg into the static binary out. Test
// files may import what no package of the module does: -mod=mod lets the
// go command add those requirements.
func (m Module) TestBinary(ctx context.Context, pkg, out, ldflags string) error {
	return atomically(out, func(partial string) error {
		return Run(ctx, m.Dir, []string{"CGO_ENABLED=0"}, "go", "test", "-c", "-mod=mod", "-trimpath", "-ldflags", "-s -w "+ldflags, "-o", partial, pkg)
	})
}

// ModuleDir is where the go command keeps the module's source (downloaded
// by Write), for files a build needs beside its binaries.
func (m Module) ModuleDir(ctx context.Context, path string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", path)
	cmd.Dir = m.Dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list -m %s in %s: %w", path, m.Dir, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// atomically builds beside the target and renames: an interrupted build
// must not leave a half-written binary that a later run takes as cached.
func atomically(out string, build func(partial string) error) error {
	if err := build(out + ".partial"); err != nil {
		return err
	}
	return os.Rename(out+".partial", out)
}

func writeIfChanged(path, content string) error {
	if old, err := os.ReadFile(path); err == nil && string(old) == content {
		return nil
	}
	// A changed go.mod invalidates the old go.sum.
	os.Remove(filepath.Join(filepath.Dir(path), "go.sum"))
	return os.WriteFile(path, []byte(content), 0o644)
}

// Kubernetes is a module requiring k8s.io/kubernetes at version (vMAJOR.
// MINOR.PATCH) with its staging modules pinned to the matching v0 release:
// k8s.io/kubernetes points them at its own tree, which a dependency does
// not have.
func Kubernetes(ctx context.Context, dir, version string, mains ...string) (Module, error) {
	staging, err := stagingModules(ctx, version)
	if err != nil {
		return Module{}, err
	}
	m := Module{Dir: dir, Requires: []string{"k8s.io/kubernetes " + version}, Mains: mains}
	stagingVersion := "v0" + strings.TrimPrefix(version, "v1")
	for _, s := range staging {
		m.Replaces = append(m.Replaces, fmt.Sprintf("%s => %s %s", s, s, stagingVersion))
	}
	return m, nil
}

// KubernetesLDFlags make Kubernetes binaries report version (vMAJOR.MINOR.
// PATCH) instead of v0.0.0: kubeadm refuses to deploy a control plane
// newer than itself, and e2e.test logs the version a submission names.
func KubernetesLDFlags(version string) string {
	parts := strings.SplitN(strings.TrimPrefix(version, "v"), ".", 3)
	major, minor := parts[0], ""
	if len(parts) > 1 {
		minor = parts[1]
	}
	var ld []string
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		ld = append(ld,
			"-X "+pkg+".gitVersion="+version,
			"-X "+pkg+".gitMajor="+major,
			"-X "+pkg+".gitMinor="+minor,
			"-X "+pkg+".gitTreeState=clean",
			"-X "+pkg+".buildDate=1970-01-01T00:00:00Z")
	}
	return strings.Join(ld, " ")
}

// stagingModules lists the k8s.io modules that k8s.io/kubernetes replaces
// with its staging directory, read from its go.mod.
func stagingModules(ctx context.Context, version string) ([]string, error) {
	out, err := exec.CommandContext(ctx, "go", "mod", "download", "-json", "k8s.io/kubernetes@"+version).Output()
	if err != nil {
		return nil, fmt.Errorf("download k8s.io/kubernetes@%s: %w", version, err)
	}
	var info struct{ GoMod, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return nil, err
	}
	if info.Error != "" {
		return nil, fmt.Errorf("download k8s.io/kubernetes@%s: %s", version, info.Error)
	}
	f, err := os.Open(info.GoMod)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	re := regexp.MustCompile(`^\s*(k8s\.io/[\w.-]+)\s+=>\s+\./staging/`)
	var mods []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			mods = append(mods, m[1])
		}
	}
	if len(mods) == 0 {
		return nil, fmt.Errorf("no staging modules found in %s", info.GoMod)
	}
	return mods, nil
}

// AllExist reports whether every named file is in dir.
func AllExist(dir string, names ...string) bool {
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			return false
		}
	}
	return true
}

// Run executes a command, returning its combined output's tail in the error.
func Run(ctx context.Context, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, Tail(out, 20))
	}
	return nil
}

// Tail is the last n lines of a command's output.
func Tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
