package conformance

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Image is one image of the suite and how this machine provides it.
type Image struct {
	// Ref is the reference the suite runs (`e2e.test --list-images`).
	Ref string
	// Conformance: [Conformance] specs run it; the other images serve
	// specs outside the conformance set.
	Conformance bool
	// Source says in one line what it is built from, or why it is not.
	Source string
	// Built: kubeproof builds it; false leaves the specs that run it
	// failing to start their pods (ErrImageNeverPull on kind).
	Built bool
	// Archive is the docker-archive BuildImages wrote.
	Archive string
}

// tagOf is a reference's tag: registry.k8s.io/etcd:3.6.4-0 -> 3.6.4-0.
func tagOf(ref string) string {
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[i+1:]
	}
	return "latest"
}

// repoName is the last path element of a reference's repository:
// registry.k8s.io/e2e-test-images/agnhost:2.56 -> agnhost.
func repoName(ref string) string {
	repo := ref
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	return repo[strings.LastIndex(repo, "/")+1:]
}

// conformanceImages are the repositories whose images the [Conformance]
// specs of v1.34 run, read from those specs' sources (imageutils IDs each
// spec uses, directly or through its framework helpers). Images of other
// specs are listed but not built: a conformance run does not need them.
var conformanceImages = []string{"agnhost", "busybox", "pause", "httpd", "nginx", "jessie-dnsutils", "nautilus", "sample-apiserver", "etcd", "nonewprivs"}

// publicRegistry is where the suite's real images live; references
// elsewhere name images that must fail to pull (the private-registry and
// invalid-image specs), which no one should build.
const publicRegistry = "registry.k8s.io/"

// nodeProvided are images every kubeproof node image holds already.
var nodeProvided = map[string]string{"pause": "the node image's pause (kubeproof-pause), preloaded under this name"}

// Images lists the images the suite can run, as `e2e.test --list-images`
// names them, with how each is provided here.
func Images(ctx context.Context, s *Suite) ([]Image, error) {
	out, err := exec.CommandContext(ctx, s.E2E, "--list-images").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list-images: %w", s.E2E, err)
	}
	var images []Image
	for _, ref := range strings.Fields(string(out)) {
		img := Image{Ref: ref, Conformance: strings.HasPrefix(ref, publicRegistry) && slices.Contains(conformanceImages, repoName(ref))}
		r, ok := recipes[repoName(ref)]
		switch {
		case !img.Conformance:
			img.Source = "not built: no [Conformance] spec runs it"
		case ok:
			img.Source, img.Built = r.source, true
		case nodeProvided[repoName(ref)] != "":
			img.Source = nodeProvided[repoName(ref)]
		default:
			img.Source = "not built here yet: the specs that run it cannot start their pods"
		}
		images = append(images, img)
	}
	slices.SortFunc(images, func(a, b Image) int { return strings.Compare(a.Ref, b.Ref) })
	return images, nil
}

// BuildImages builds every image with a recipe into a docker-archive in
// <cache>/e2e-<version>/images/, named by the hash of what went into it
// (reused when unchanged), and fills in Archive.
func BuildImages(ctx context.Context, s *Suite, cache string, images []Image, log io.Writer) error {
	dir := filepath.Join(cache, "e2e-"+s.Version, "images")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	self, err := selfHash()
	if err != nil {
		return err
	}
	for i, img := range images {
		r := recipes[repoName(img.Ref)]
		if !img.Built {
			continue
		}
		// What went into an archive: the recipes (this program) and the
		// suite's version; cached .deb files and Go builds never change.
		built := filepath.Join(dir, fmt.Sprintf("%s-%s.built", repoName(img.Ref), tagOf(img.Ref)))
		if archive, ok := builtBy(built, self); ok {
			images[i].Archive = archive
			continue
		}
		root, err := os.MkdirTemp(dir, "root-")
		if err != nil {
			return err
		}
		archive, err := buildImage(ctx, &step{ctx: ctx, suite: s, cache: cache, root: root, tag: tagOf(img.Ref)}, dir, img.Ref, r)
		os.RemoveAll(root)
		os.Remove(root + ".tar")
		if err != nil {
			return fmt.Errorf("image %s: %w", img.Ref, err)
		}
		fmt.Fprintf(log, "  %s: %s\n", img.Ref, archive)
		images[i].Archive = archive
		if err := os.WriteFile(built, []byte(self+" "+archive), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// builtBy returns the archive the record names if this same program built
// it and it is still there.
func builtBy(record, self string) (string, bool) {
	data, err := os.ReadFile(record)
	if err != nil {
		return "", false
	}
	by, archive, ok := strings.Cut(string(data), " ")
	if !ok || by != self {
		return "", false
	}
	if _, err := os.Stat(archive); err != nil {
		return "", false
	}
	return archive, true
}

// selfHash is the SHA-256 of the running program.
func selfHash() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	f, err := os.Open(exe)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func buildImage(ctx context.Context, st *step, dir, ref string, r recipe) (string, error) {
	if err := r.files(st); err != nil {
		return "", err
	}
	layer, sum, err := layerOf(st.root)
	if err != nil {
		return "", err
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		return "", err
	}
	prefix := fmt.Sprintf("%s-%s-", repoName(ref), tag.TagStr())
	archive := filepath.Join(dir, prefix+sum[:12]+".tar")
	if _, err := os.Stat(archive); err == nil {
		return archive, nil
	}
	// Earlier builds of this reference are of no more use.
	if old, err := filepath.Glob(filepath.Join(dir, prefix+"*.tar")); err == nil {
		for _, o := range old {
			os.Remove(o)
			os.Remove(o + ".digest")
		}
	}
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return os.Open(layer) }, tarball.WithCompressionLevel(gzip.BestSpeed))
	if err != nil {
		return "", err
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		return "", err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return "", err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Config = r.config
	if r.configFor != nil {
		cfg.Config = r.configFor(st)
	}
	cfg.Config.Env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, cfg.Config.Env...)
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return "", err
	}
	if err := tarball.WriteToFile(archive+".partial", tag, img); err != nil {
		return "", err
	}
	return archive, os.Rename(archive+".partial", archive)
}

// layerOf writes root as an uncompressed tar beside it, owned by root
// (uid 0) with the modes and links it has, and returns its path and the
// SHA-256 of its content.
func layerOf(root string) (string, string, error) {
	path := root + ".tar"
	f, err := os.Create(path)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	h := sha256.New()
	tw := tar.NewWriter(io.MultiWriter(f, h))
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		var link string
		if d.Type()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		hdr.Name, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = filepath.ToSlash(rel), 0, 0, "", ""
		hdr.ModTime, hdr.AccessTime, hdr.ChangeTime = epoch, time.Time{}, time.Time{}
		if d.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		return "", "", err
	}
	return path, hex.EncodeToString(h.Sum(nil)), nil
}
