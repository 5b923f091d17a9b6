package nodeimage

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/kubeproof/kubeproof/internal/gobuild"
)

// kubernetesCommands are built from k8s.io/kubernetes, by binary name.
var kubernetesCommands = []string{"kubeadm", "kubelet", "kubectl", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"}

func (b *builder) buildKubernetes(ctx context.Context) error {
	v, _ := parseKubeVersion(b.KubernetesVersion)
	dir := filepath.Join(b.CacheDir, "k8s-"+v.Full)
	b.k8sBin = filepath.Join(dir, "bin")
	if gobuild.AllExist(b.k8sBin, kubernetesCommands...) {
		fmt.Fprintf(b.Log, "  cached in %s\n", b.k8sBin)
		return nil
	}
	outputs := map[string]string{}
	var mains []string
	for _, c := range kubernetesCommands {
		pkg := "k8s.io/kubernetes/cmd/" + c
		mains = append(mains, pkg)
		outputs[pkg] = c
	}
	m, err := gobuild.Kubernetes(ctx, dir, v.Full, mains...)
	if err != nil {
		return err
	}
	if err := m.Write(ctx); err != nil {
		return err
	}
	return m.Build(ctx, b.k8sBin, gobuild.KubernetesLDFlags(v.Full), outputs)
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
	if gobuild.AllExist(b.addonBin, "etcd", "coredns") {
		fmt.Fprintf(b.Log, "  cached in %s\n", b.addonBin)
		return nil
	}
	etcd := gobuild.Module{
		Dir:      filepath.Join(b.CacheDir, "etcd-"+etcdVersion),
		Requires: []string{"go.etcd.io/etcd/server/v3 " + etcdVersion},
		Mains:    []string{"go.etcd.io/etcd/server/v3"},
	}
	coredns := gobuild.Module{
		Dir:      filepath.Join(b.CacheDir, "coredns-"+corednsVersion),
		Requires: []string{"github.com/coredns/coredns " + corednsVersion},
		Mains:    []string{"github.com/coredns/coredns"},
	}
	for _, m := range []struct {
		mod  gobuild.Module
		name string
	}{{etcd, "etcd"}, {coredns, "coredns"}} {
		if err := m.mod.Write(ctx); err != nil {
			return err
		}
		if err := m.mod.Build(ctx, b.addonBin, "", map[string]string{m.mod.Mains[0]: m.name}); err != nil {
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
		if err := gobuild.Run(ctx, b.SourceDir, []string{"CGO_ENABLED=0"}, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", filepath.Join(b.ownBin, c), "./cmd/"+c); err != nil {
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
