package nodeimage

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kubeproof/kubeproof/internal/gobuild"
	"github.com/kubeproof/kubeproof/internal/hostpkg"
)

// files holds the debootstrap script and the files laid over the rootfs.
//
//go:embed files
var files embed.FS

// buildRootfs runs debootstrap once per package list and mirror; the
// result is kept in the cache and copied for each image build.
func (b *builder) buildRootfs(ctx context.Context) error {
	script, err := files.ReadFile("files/debootstrap.sh")
	if err != nil {
		return err
	}
	sum := sha256.Sum256(append(script, []byte(b.Mirror)...))
	dir := filepath.Join(b.CacheDir, "rootfs-"+hex.EncodeToString(sum[:])[:12])
	b.rootfs = filepath.Join(dir, "rootfs")
	if _, err := os.Stat(filepath.Join(b.rootfs, "usr/bin/containerd")); err == nil {
		fmt.Fprintf(b.Log, "  cached in %s\n", b.rootfs)
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("debootstrap needs root: run the image build as root")
	}
	partial := b.rootfs + ".partial"
	if err := os.RemoveAll(partial); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	scriptPath := filepath.Join(dir, "debootstrap.sh")
	if err := os.WriteFile(scriptPath, script, 0o755); err != nil {
		return err
	}
	if err := ensureHostTools(ctx, b.Log); err != nil {
		return err
	}
	if err := gobuild.Run(ctx, "", nil, scriptPath, partial, b.Mirror); err != nil {
		return err
	}
	return os.Rename(partial, b.rootfs)
}

func ensureHostTools(ctx context.Context, log io.Writer) error {
	return hostpkg.Ensure(ctx, log,
		hostpkg.Need{Command: "debootstrap", Package: "debootstrap"},
		hostpkg.Need{Command: "containerd", Package: "containerd"},
		hostpkg.Need{Command: "ctr", Package: "containerd"},
	)
}
