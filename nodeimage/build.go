package nodeimage

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/kubeproof/kubeproof/internal/paths"
)

// DefaultKubernetesVersion is the version the default node image runs.
const DefaultKubernetesVersion = "v1.34.4"

// DefaultUpgradeVersion is the version an upgrade rehearsal goes to from
// DefaultKubernetesVersion: the one 1.35 release the module proxy serves.
const DefaultUpgradeVersion = "v1.35.4"

// Repository is the local image repository of kubeproof node images.
const Repository = "kubeproof/node"

// Options describe one node image build.
type Options struct {
	// KubernetesVersion such as v1.34.4 or v1.35.4.
	KubernetesVersion string
	// UpgradeVersion, when set, is a second Kubernetes version the image
	// carries for an upgrade: kubeadm, kubelet and kubectl under
	// /kubeproof/upgrade/<version>/ and its control-plane images preloaded,
	// so that `kubeadm upgrade` needs no registry. It must be the next minor.
	UpgradeVersion string
	// SourceDir is the kubeproof source tree (the module root).
	SourceDir string
	// CacheDir keeps the rootfs, the Go module builds and the work area.
	CacheDir string
	// Mirror is the Debian mirror debootstrap reads.
	Mirror string
	// Rebuild builds even when an image with the same tag exists.
	Rebuild bool
	Log     io.Writer
}

func (o *Options) defaults() error {
	if o.KubernetesVersion == "" {
		o.KubernetesVersion = DefaultKubernetesVersion
	}
	from, err := parseKubeVersion(o.KubernetesVersion)
	if err != nil {
		return err
	}
	if o.UpgradeVersion != "" {
		to, err := parseKubeVersion(o.UpgradeVersion)
		if err != nil {
			return err
		}
		if to.minor() != from.minor()+1 {
			return fmt.Errorf("%w: upgrade version %s: want the minor after %s (v1.%d.x); kubeadm upgrades one minor at a time", ErrVersion, o.UpgradeVersion, o.KubernetesVersion, from.minor()+1)
		}
	}
	if o.CacheDir == "" {
		o.CacheDir = paths.CacheDir()
	}
	if o.Mirror == "" {
		o.Mirror = "http://deb.debian.org/debian"
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.SourceDir == "" {
		dir, err := paths.SourceDir()
		if err != nil {
			return err
		}
		o.SourceDir = dir
	}
	return nil
}

// Build makes the node image unless one with the same inputs exists, and
// returns its tag.
func Build(ctx context.Context, o Options) (string, error) {
	if err := o.defaults(); err != nil {
		return "", err
	}
	tag, err := tagFor(o.SourceDir, o.KubernetesVersion, o.UpgradeVersion)
	if err != nil {
		return "", err
	}
	if !o.Rebuild && imageExists(ctx, tag) {
		fmt.Fprintf(o.Log, "node image %s is up to date\n", tag)
		return tag, nil
	}
	start := time.Now()
	b := &builder{Options: o, tag: tag}
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"build Kubernetes " + o.KubernetesVersion + " from the Go module proxy", b.buildKubernetes},
		{"build etcd and CoreDNS", b.buildAddons},
		{"build the upgrade version " + o.UpgradeVersion, b.buildUpgrade},
		{"build kubeproof's node binaries", b.buildOwnBinaries},
		{"debootstrap the Debian rootfs", b.buildRootfs},
		{"assemble the node filesystem", b.assemble},
		{"preload images into the node's containerd", b.preloadImages},
		{"load the image into Docker", b.load},
	}
	for _, s := range steps {
		t := time.Now()
		fmt.Fprintf(o.Log, "• %s ...\n", s.name)
		if err := s.run(ctx); err != nil {
			return "", fmt.Errorf("%s: %w", s.name, err)
		}
		fmt.Fprintf(o.Log, "  done in %s\n", time.Since(t).Round(100*time.Millisecond))
	}
	for _, dir := range []string{b.workDir(), b.ownBin} {
		if err := os.RemoveAll(dir); err != nil {
			fmt.Fprintf(o.Log, "warning: remove %s: %v\n", dir, err)
		}
	}
	pruneOlderImages(ctx, o.Log, tag)
	fmt.Fprintf(o.Log, "built %s in %s\n", tag, time.Since(start).Round(time.Second))
	return tag, nil
}

// builder carries what one step hands to the next.
type builder struct {
	Options
	tag      string
	k8sBin   string            // dir with kubeadm, kubelet, ...
	addonBin string            // dir with etcd, coredns
	ownBin   string            // dir with kubeproof-net, kubeproof-runc, kubeproof-pause
	rootfs   string            // cached debootstrap rootfs
	images   map[string]string // image role (apiserver, etcd, ...) -> full reference
	// upgrade is the second version's builder (nil without one): its
	// binaries and the images its kubeadm lists.
	upgrade *builder
}

// buildUpgrade builds the upgrade version's Kubernetes, etcd and CoreDNS
// (each cached by version like the first) and asks that version's own
// kubeadm which images it will deploy.
func (b *builder) buildUpgrade(ctx context.Context) error {
	if b.UpgradeVersion == "" {
		fmt.Fprintln(b.Log, "  none asked")
		return nil
	}
	o := b.Options
	o.KubernetesVersion, o.UpgradeVersion = b.UpgradeVersion, ""
	b.upgrade = &builder{Options: o, tag: b.tag}
	if err := b.upgrade.buildKubernetes(ctx); err != nil {
		return err
	}
	return b.upgrade.buildAddons(ctx)
}

func (b *builder) workDir() string {
	return filepath.Join(b.CacheDir, "work", strings.ReplaceAll(b.tag, "/", "_"))
}

func imageExists(ctx context.Context, ref string) bool {
	return exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Id}}", ref).Run() == nil
}

// Exists reports whether the image is in the local Docker.
func Exists(ctx context.Context, ref string) bool { return imageExists(ctx, ref) }

// pruneOlderImages removes the images earlier builds of the same Kubernetes
// versions left (each is about 650 MB); one still used by a container stays.
func pruneOlderImages(ctx context.Context, log io.Writer, keep string) {
	out, err := exec.CommandContext(ctx, "docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", Repository).Output()
	if err != nil {
		return
	}
	for _, ref := range strings.Fields(string(out)) {
		if !olderBuild(ref, keep) {
			continue
		}
		if err := exec.CommandContext(ctx, "docker", "image", "rm", ref).Run(); err != nil {
			fmt.Fprintf(log, "kept older image %s (in use)\n", ref)
		} else {
			fmt.Fprintf(log, "removed older image %s\n", ref)
		}
	}
}

var hashSuffix = regexp.MustCompile(`^[0-9a-f]{12}$`)

// olderBuild reports whether ref is another build of keep's versions: the
// same tag up to the hash, and nothing but a hash after it (v1.34.4-<hash>
// is not an older v1.34.4-v1.35.4-<hash>, nor the reverse).
func olderBuild(ref, keep string) bool {
	prefix := keep[:strings.LastIndex(keep, "-")+1]
	return ref != keep && strings.HasPrefix(ref, prefix) && hashSuffix.MatchString(strings.TrimPrefix(ref, prefix))
}
