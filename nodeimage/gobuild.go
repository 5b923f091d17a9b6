package nodeimage

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

// goModule is a throwaway module in the cache that requires what we build,
// so the Go module proxy is the only source and go.sum pins it.
type goModule struct {
	dir      string
	requires []string // "path version"
	replaces []string // "path => path version"
	mains    []string // main packages to build
}

func (m goModule) write(ctx context.Context) error {
	if err := os.MkdirAll(m.dir, 0o755); err != nil {
		return err
	}
	var mod strings.Builder
	mod.WriteString("module kubeproof.local/build\n\ngo 1.24\n\n")
	for _, r := range m.requires {
		fmt.Fprintf(&mod, "require %s\n", r)
	}
	for _, r := range m.replaces {
		fmt.Fprintf(&mod, "replace %s\n", r)
	}
	var tools strings.Builder
	tools.WriteString("//go:build tools\n\n// Package build only pins the commands kubeproof builds.\npackage build\n\nimport (\n")
	for _, p := range m.mains {
		fmt.Fprintf(&tools, "\t_ %q\n", p)
	}
	tools.WriteString(")\n")
	if err := writeIfChanged(filepath.Join(m.dir, "go.mod"), mod.String()); err != nil {
		return err
	}
	if err := writeIfChanged(filepath.Join(m.dir, "tools.go"), tools.String()); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(m.dir, "go.sum")); err == nil {
		return nil
	}
	return run(ctx, m.dir, nil, "go", "mod", "tidy")
}

// build compiles the mains into outDir as static binaries named by the
// outputs map (package -> binary name).
func (m goModule) build(ctx context.Context, outDir string, ldflags string, outputs map[string]string) error {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	for _, pkg := range m.mains {
		// Build beside the target and rename: an interrupted build must not
		// leave a half-written binary that a later run takes as cached.
		out := filepath.Join(outDir, outputs[pkg])
		if err := run(ctx, m.dir, []string{"CGO_ENABLED=0"}, "go", "build", "-trimpath", "-ldflags", "-s -w "+ldflags, "-o", out+".partial", pkg); err != nil {
			return err
		}
		if err := os.Rename(out+".partial", out); err != nil {
			return err
		}
	}
	return nil
}

func writeIfChanged(path, content string) error {
	if old, err := os.ReadFile(path); err == nil && string(old) == content {
		return nil
	}
	// A changed go.mod invalidates the old go.sum.
	os.Remove(filepath.Join(filepath.Dir(path), "go.sum"))
	return os.WriteFile(path, []byte(content), 0o644)
}

// kubernetesCommands are built from k8s.io/kubernetes, by binary name.
var kubernetesCommands = []string{"kubeadm", "kubelet", "kubectl", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"}

func (b *builder) buildKubernetes(ctx context.Context) error {
	v, _ := parseKubeVersion(b.KubernetesVersion)
	dir := filepath.Join(b.CacheDir, "k8s-"+v.Full)
	b.k8sBin = filepath.Join(dir, "bin")
	if allExist(b.k8sBin, kubernetesCommands...) {
		fmt.Fprintf(b.Log, "  cached in %s\n", b.k8sBin)
		return nil
	}
	staging, err := stagingModules(ctx, v.Full)
	if err != nil {
		return err
	}
	m := goModule{dir: dir, requires: []string{"k8s.io/kubernetes " + v.Full}}
	outputs := map[string]string{}
	for _, c := range kubernetesCommands {
		pkg := "k8s.io/kubernetes/cmd/" + c
		m.mains = append(m.mains, pkg)
		outputs[pkg] = c
	}
	// k8s.io/kubernetes points its staging modules at its own tree; as a
	// dependency it needs them pinned to the matching v0.MINOR.PATCH.
	stagingVersion := "v0" + strings.TrimPrefix(v.Full, "v1")
	for _, s := range staging {
		m.replaces = append(m.replaces, fmt.Sprintf("%s => %s %s", s, s, stagingVersion))
	}
	if err := m.write(ctx); err != nil {
		return err
	}
	// Without these the binaries call themselves v0.0.0 and kubeadm refuses
	// to deploy a control plane newer than itself.
	var ld []string
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		ld = append(ld,
			"-X "+pkg+".gitVersion="+v.Full,
			"-X "+pkg+".gitMajor="+v.Major,
			"-X "+pkg+".gitMinor="+v.Minor,
			"-X "+pkg+".gitTreeState=clean",
			"-X "+pkg+".buildDate=1970-01-01T00:00:00Z")
	}
	return m.build(ctx, b.k8sBin, strings.Join(ld, " "), outputs)
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

// buildAddons builds the etcd and CoreDNS versions this kubeadm deploys.
func (b *builder) buildAddons(ctx context.Context) error {
	images, err := kubeadmImages(ctx, filepath.Join(b.k8sBin, "kubeadm"), b.KubernetesVersion)
	if err != nil {
		return err
	}
	b.images = images
	etcdVersion := "v" + strings.SplitN(tagOf(images["etcd"]), "-", 2)[0]
	corednsVersion := tagOf(images["coredns"])
	b.addonBin = filepath.Join(b.CacheDir, "addons-etcd"+etcdVersion+"-coredns"+corednsVersion, "bin")
	if allExist(b.addonBin, "etcd", "coredns") {
		fmt.Fprintf(b.Log, "  cached in %s\n", b.addonBin)
		return nil
	}
	etcd := goModule{
		dir:      filepath.Join(b.CacheDir, "etcd-"+etcdVersion),
		requires: []string{"go.etcd.io/etcd/server/v3 " + etcdVersion},
		mains:    []string{"go.etcd.io/etcd/server/v3"},
	}
	coredns := goModule{
		dir:      filepath.Join(b.CacheDir, "coredns-"+corednsVersion),
		requires: []string{"github.com/coredns/coredns " + corednsVersion},
		mains:    []string{"github.com/coredns/coredns"},
	}
	for _, m := range []struct {
		mod  goModule
		name string
	}{{etcd, "etcd"}, {coredns, "coredns"}} {
		if err := m.mod.write(ctx); err != nil {
			return err
		}
		if err := m.mod.build(ctx, b.addonBin, "", map[string]string{m.mod.mains[0]: m.name}); err != nil {
			return err
		}
	}
	return nil
}

// kubeadmImages asks kubeadm which images it will run, keyed by role.
func kubeadmImages(ctx context.Context, kubeadm, version string) (map[string]string, error) {
	out, err := exec.CommandContext(ctx, kubeadm, "config", "images", "list", "--kubernetes-version", version).Output()
	if err != nil {
		return nil, fmt.Errorf("kubeadm config images list: %w", err)
	}
	images := map[string]string{}
	for _, ref := range strings.Fields(string(out)) {
		name := ref[strings.LastIndex(ref, "/")+1:]
		role := strings.TrimPrefix(name[:strings.LastIndex(name, ":")], "kube-")
		images[role] = ref
	}
	for _, role := range []string{"apiserver", "controller-manager", "scheduler", "proxy", "etcd", "coredns", "pause"} {
		if images[role] == "" {
			return nil, fmt.Errorf("kubeadm %s lists no %s image: %q", version, role, out)
		}
	}
	return images, nil
}

func tagOf(ref string) string { return ref[strings.LastIndex(ref, ":")+1:] }

// ownCommands are kubeproof's binaries that go into the node image.
var ownCommands = []string{"kubeproof-net", "kubeproof-runc", "kubeproof-pause"}

func (b *builder) buildOwnBinaries(ctx context.Context) error {
	b.ownBin = filepath.Join(b.workDir() + "-bin")
	if err := os.MkdirAll(b.ownBin, 0o755); err != nil {
		return err
	}
	for _, c := range ownCommands {
		if err := run(ctx, b.SourceDir, []string{"CGO_ENABLED=0"}, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", filepath.Join(b.ownBin, c), "./cmd/"+c); err != nil {
			return err
		}
	}
	ref, err := netImageRef(filepath.Join(b.ownBin, "kubeproof-net"))
	if err != nil {
		return err
	}
	b.images["net"] = ref
	return nil
}

func allExist(dir string, names ...string) bool {
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			return false
		}
	}
	return true
}
