package nodeimage

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/kubeproof/kubeproof/internal/gobuild"
)

// assemble copies the cached rootfs into the work area and lays kubeproof's
// files, the Kubernetes node binaries and the systemd setup over it.
func (b *builder) assemble(ctx context.Context) error {
	root := b.workDir()
	if err := os.RemoveAll(root); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(root), 0o755); err != nil {
		return err
	}
	if err := gobuild.Run(ctx, "", nil, "cp", "-a", b.rootfs, root); err != nil {
		return err
	}
	// systemd in a container: start only what a node needs. Drop the units
	// Debian enables (getty, timers, udev sockets, ...) before enabling ours.
	for _, pattern := range []string{
		"lib/systemd/system/multi-user.target.wants/*",
		"etc/systemd/system/*.wants/*",
		"lib/systemd/system/local-fs.target.wants/*",
		"lib/systemd/system/sockets.target.wants/*udev*",
		"lib/systemd/system/sockets.target.wants/*initctl*",
		"lib/systemd/system/basic.target.wants/*",
		"lib/systemd/system/sysinit.target.wants/systemd-tmpfiles-setup.service",
	} {
		matches, _ := filepath.Glob(filepath.Join(root, pattern))
		for _, m := range matches {
			if err := os.Remove(m); err != nil {
				return err
			}
		}
	}
	replacer := strings.NewReplacer("@PAUSE_IMAGE@", b.images["pause"], "@NET_IMAGE@", b.images["net"])
	err := fs.WalkDir(files, "files/rootfs", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		dst := filepath.Join(root, strings.TrimPrefix(p, "files/rootfs/"))
		mode := os.FileMode(0o644)
		if strings.Contains(p, "/bin/") {
			mode = 0o755
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, []byte(replacer.Replace(string(data))), mode)
	})
	if err != nil {
		return err
	}
	copies := map[string]string{
		filepath.Join(b.k8sBin, "kubeadm"):        "usr/bin/kubeadm",
		filepath.Join(b.k8sBin, "kubelet"):        "usr/bin/kubelet",
		filepath.Join(b.k8sBin, "kubectl"):        "usr/bin/kubectl",
		filepath.Join(b.ownBin, "kubeproof-runc"): "usr/local/bin/kubeproof-runc",
	}
	for src, dst := range copies {
		if err := copyFile(src, filepath.Join(root, dst), 0o755); err != nil {
			return err
		}
	}
	if up := b.upgrade; up != nil {
		// kinder's layout: the upgrade's binaries in a folder named after
		// its version, and that version in a file beside it.
		dir := filepath.Join(root, "kubeproof/upgrade", up.KubernetesVersion)
		for _, c := range []string{"kubeadm", "kubelet", "kubectl"} {
			if err := copyFile(filepath.Join(up.k8sBin, c), filepath.Join(dir, c), 0o755); err != nil {
				return err
			}
		}
		if err := os.WriteFile(filepath.Join(root, "kubeproof/upgrade/version"), []byte(up.KubernetesVersion), 0o644); err != nil {
			return err
		}
	}
	// kind reads the Kubernetes version from here: one line, no newline.
	if err := os.WriteFile(filepath.Join(root, "kind/version"), []byte(b.KubernetesVersion), 0o644); err != nil {
		return err
	}
	for _, d := range []string{"etc/kubernetes/manifests", "etc/cni/net.d"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	// systemctl in a chroot works offline: it only writes the symlinks.
	if err := gobuild.Run(ctx, "", nil, "chroot", root, "systemctl", "enable", "containerd.service", "kubelet.service"); err != nil {
		return err
	}
	return gobuild.Run(ctx, "", nil, "chroot", root, "systemctl", "mask", "systemd-binfmt.service", "getty@.service", "console-getty.service", "systemd-modules-load.service")
}

func copyFile(src, dst string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(dst, data, mode); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return nil
}
