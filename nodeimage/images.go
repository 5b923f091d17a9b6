package nodeimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// layerFile is one file of a single-layer image.
type layerFile struct {
	path string // absolute path in the image
	data []byte
	link string // symlink target, when set
	mode int64
}

// imageSpec describes one image the node preloads.
type imageSpec struct {
	ref        string
	files      []layerFile
	entrypoint []string
}

const imagePath = "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"

// writeImage writes spec as a docker-archive tarball, which ctr imports.
func writeImage(spec imageSpec, out string) error {
	layerTar, err := tarOf(spec.files)
	if err != nil {
		return err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithCompressionLevel(gzip.BestSpeed))
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
	cfg.Config = v1.Config{Entrypoint: spec.entrypoint, Env: []string{"PATH=" + imagePath}}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return err
	}
	ref, err := name.NewTag(spec.ref)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(out, ref, img)
}

// tarOf builds a layer with the files and every parent directory.
func tarOf(files []layerFile) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{"/tmp": true}
	for _, f := range files {
		for d := path.Dir(f.path); d != "/"; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	var sorted []string
	for d := range dirs {
		sorted = append(sorted, d)
	}
	sort.Strings(sorted)
	for _, d := range sorted {
		mode := int64(0o755)
		if d == "/tmp" {
			mode = 0o1777
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(d, "/") + "/", Mode: mode}); err != nil {
			return nil, err
		}
	}
	for _, f := range files {
		h := &tar.Header{Name: strings.TrimPrefix(f.path, "/"), Mode: f.mode}
		if f.link != "" {
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, f.link, 0o777
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func binaryFile(src, dst string) (layerFile, error) {
	data, err := os.ReadFile(src)
	return layerFile{path: dst, data: data, mode: 0o755}, err
}

// componentImages lists the images kubeadm, kube-proxy, CoreDNS, the
// sandbox and kubeproof's network agent run, under the exact names the
// cluster will ask for; with an upgrade version, its images too (a
// reference both versions use goes in once).
func (b *builder) componentImages() ([]imageSpec, error) {
	specs, err := b.releaseImages(b.images)
	if err != nil || b.upgrade == nil {
		return specs, err
	}
	up := b.upgrade
	up.ownBin, up.rootfs = b.ownBin, b.rootfs
	more, err := up.releaseImages(up.images)
	if err != nil {
		return nil, fmt.Errorf("upgrade version %s: %w", up.KubernetesVersion, err)
	}
	have := map[string]bool{}
	for _, s := range specs {
		have[s.ref] = true
	}
	for _, s := range more {
		if !have[s.ref] {
			have[s.ref] = true
			specs = append(specs, s)
		}
	}
	return specs, nil
}

// releaseImages are one Kubernetes version's images, built from this
// builder's binaries, named as images says.
func (b *builder) releaseImages(images map[string]string) ([]imageSpec, error) {
	var specs []imageSpec
	simple := []struct{ role, src, dst string }{
		{"apiserver", filepath.Join(b.k8sBin, "kube-apiserver"), "/usr/local/bin/kube-apiserver"},
		{"controller-manager", filepath.Join(b.k8sBin, "kube-controller-manager"), "/usr/local/bin/kube-controller-manager"},
		{"scheduler", filepath.Join(b.k8sBin, "kube-scheduler"), "/usr/local/bin/kube-scheduler"},
		{"etcd", filepath.Join(b.addonBin, "etcd"), "/usr/local/bin/etcd"},
		{"coredns", filepath.Join(b.addonBin, "coredns"), "/coredns"},
		{"pause", filepath.Join(b.ownBin, "kubeproof-pause"), "/pause"},
	}
	if images["net"] != "" {
		simple = append(simple, struct{ role, src, dst string }{"net", filepath.Join(b.ownBin, "kubeproof-net"), "/usr/local/bin/kubeproof-net"})
	}
	for _, s := range simple {
		f, err := binaryFile(s.src, s.dst)
		if err != nil {
			return nil, err
		}
		specs = append(specs, imageSpec{ref: images[s.role], files: []layerFile{f}, entrypoint: []string{s.dst}})
	}
	proxy, err := b.kubeProxyFiles()
	if err != nil {
		return nil, fmt.Errorf("kube-proxy image: %w", err)
	}
	specs = append(specs, imageSpec{ref: images["proxy"], files: proxy, entrypoint: []string{"/usr/local/bin/kube-proxy"}})
	return specs, nil
}

// kubeProxyFiles: kube-proxy programs iptables by running the iptables
// commands, so its image carries them (nft backend, as the node uses) with
// the shared libraries and extension modules they load, taken from the
// node rootfs.
func (b *builder) kubeProxyFiles() ([]layerFile, error) {
	proxy, err := binaryFile(filepath.Join(b.k8sBin, "kube-proxy"), "/usr/local/bin/kube-proxy")
	if err != nil {
		return nil, err
	}
	out := []layerFile{proxy}
	seen := map[string]bool{}
	var add func(p string) error
	add = func(p string) error {
		if seen[p] {
			return nil
		}
		seen[p] = true
		real, err := resolveIn(b.rootfs, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(real)
		if err != nil {
			return err
		}
		out = append(out, layerFile{path: p, data: data, mode: 0o755})
		deps, interp, err := elfNeeds(real)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if interp != "" {
			if err := add(interp); err != nil {
				return err
			}
		}
		for _, lib := range deps {
			found := ""
			for _, dir := range []string{"/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu"} {
				if _, err := resolveIn(b.rootfs, path.Join(dir, lib)); err == nil {
					found = path.Join(dir, lib)
					break
				}
			}
			if found == "" {
				return fmt.Errorf("%s needs %s, not found in the rootfs", p, lib)
			}
			if err := add(found); err != nil {
				return err
			}
		}
		return nil
	}
	for _, bin := range []string{"/usr/sbin/xtables-nft-multi", "/usr/sbin/conntrack"} {
		if err := add(bin); err != nil {
			return nil, err
		}
	}
	extDir := "/usr/lib/x86_64-linux-gnu/xtables"
	exts, err := os.ReadDir(filepath.Join(b.rootfs, extDir))
	if err != nil {
		return nil, err
	}
	for _, e := range exts {
		if strings.HasSuffix(e.Name(), ".so") {
			if err := add(path.Join(extDir, e.Name())); err != nil {
				return nil, err
			}
		}
	}
	for _, family := range []string{"iptables", "ip6tables"} {
		for _, suffix := range []string{"", "-save", "-restore"} {
			out = append(out, layerFile{path: "/usr/sbin/" + family + suffix, link: "xtables-nft-multi"})
		}
	}
	return out, nil
}

// elfNeeds lists an ELF file's DT_NEEDED libraries and its interpreter.
func elfNeeds(file string) ([]string, string, error) {
	f, err := elf.Open(file)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	libs, err := f.ImportedLibraries()
	if err != nil {
		return nil, "", err
	}
	interp := ""
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			data, err := io.ReadAll(p.Open())
			if err != nil {
				return nil, "", err
			}
			interp = strings.TrimRight(string(data), "\x00")
		}
	}
	return libs, interp, nil
}

// resolveIn follows symlinks of p as if root were "/", returning the host
// path of the file it ends at.
func resolveIn(root, p string) (string, error) {
	for hops := 0; hops < 40; hops++ {
		next, changed, err := resolveFirstLink(root, p)
		if err != nil {
			return "", err
		}
		if !changed {
			return filepath.Join(root, next), nil
		}
		p = next
	}
	return "", fmt.Errorf("too many symlinks resolving %s", p)
}

// resolveFirstLink replaces the first symlink among p's components with its
// target. Parents matter: /lib is itself a link on merged-/usr systems.
func resolveFirstLink(root, p string) (string, bool, error) {
	parts := strings.Split(strings.TrimPrefix(path.Clean(p), "/"), "/")
	cur := "/"
	for i, part := range parts {
		next := path.Join(cur, part)
		fi, err := os.Lstat(filepath.Join(root, next))
		if err != nil {
			return "", false, err
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			cur = next
			continue
		}
		target, err := os.Readlink(filepath.Join(root, next))
		if err != nil {
			return "", false, err
		}
		if !path.IsAbs(target) {
			target = path.Join(cur, target)
		}
		return path.Join(append([]string{target}, parts[i+1:]...)...), true, nil
	}
	return cur, false, nil
}
