package nodeimage

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/kubeproof/kubeproof/internal/gobuild"
)

// UpgradeVersionLabel names, on a node image, the second Kubernetes
// version it carries for an upgrade.
const UpgradeVersionLabel = "io.kubeproof.upgrade-version"

// load packs the work area as the image's single layer and hands it to
// `docker load`. The layer is stored, not compressed: it never leaves this
// machine, and compressing a gigabyte would cost more than it saves.
func (b *builder) load(ctx context.Context) error {
	layerPath := b.workDir() + ".tar"
	defer os.Remove(layerPath)
	if err := gobuild.Run(ctx, "", nil, "tar", "-C", b.workDir(), "--numeric-owner", "-cf", layerPath, "."); err != nil {
		return err
	}
	layer, err := tarball.LayerFromFile(layerPath, tarball.WithCompressionLevel(gzip.NoCompression))
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	labels := map[string]string{
		"io.kubeproof.kubernetes-version": b.KubernetesVersion,
		"io.kubeproof.images":             fmt.Sprint(b.images),
	}
	if b.upgrade != nil {
		labels[UpgradeVersionLabel] = b.upgrade.KubernetesVersion
		labels["io.kubeproof.upgrade-images"] = fmt.Sprint(b.upgrade.images)
	}
	cfg.Config = v1.Config{
		Entrypoint: []string{"/usr/local/bin/entrypoint", "/sbin/init"},
		// systemd reads container= to know it runs in a container.
		Env: []string{"container=docker", "PATH=" + imagePath},
		// SIGTERM makes systemd re-execute; this one makes it shut down.
		StopSignal: "SIGRTMIN+3",
		Labels:     labels,
	}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return err
	}
	ref, err := name.NewTag(b.tag)
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarball.Write(ref, img, pw)) }()
	cmd := exec.CommandContext(ctx, "docker", "load")
	cmd.Stdin = pr
	out, err := cmd.CombinedOutput()
	pr.Close()
	if err != nil {
		return fmt.Errorf("docker load: %w: %s", err, gobuild.Tail(out, 5))
	}
	return nil
}
