package conformance

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"sigs.k8s.io/yaml"
)

// ErrRegistry: a --registry that is not REGISTRY[/PATH].
var ErrRegistry = errors.New("bad registry")

// The suite's registries this machine's images replace: the e2e test
// images and etcd's. The others keep their names: pause is every node's
// own sandbox image, and the rest are images no conformance spec runs or
// that must fail to pull.
const (
	e2eRegistry  = "registry.k8s.io/e2e-test-images"
	etcdRegistry = "registry.k8s.io"
)

// repoList is the file KUBE_TEST_REPO_LIST names: the suite's registries
// (test/utils/image/manifest.go's RegistryList) that differ from its own.
type repoList struct {
	PromoterE2eRegistry string `json:"promoterE2eRegistry"`
	GcEtcdRegistry      string `json:"gcEtcdRegistry"`
}

// moved is where ref lives in registry, or "" when the suite keeps its
// name.
func moved(ref, registry string) string {
	switch {
	case strings.HasPrefix(ref, e2eRegistry+"/"):
		return registry + "/e2e-test-images/" + strings.TrimPrefix(ref, e2eRegistry+"/")
	case strings.HasPrefix(ref, etcdRegistry+"/etcd:"):
		return registry + "/" + strings.TrimPrefix(ref, etcdRegistry+"/")
	}
	return ""
}

// Push pushes every built image to registry (REGISTRY[/PATH], e.g.
// registry.example.com:5000/k8s), each under its repository and tag
// there, and writes the repo list that points the suite at them into
// listFile (for KUBE_TEST_REPO_LIST). Credentials come from the Docker
// configuration, as `docker push` finds them; insecure allows plain HTTP.
func Push(ctx context.Context, images []Image, registry string, insecure bool, listFile string) error {
	registry = strings.TrimSuffix(registry, "/")
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	if _, err := name.NewRepository(registry+"/e2e-test-images/check", opts...); err != nil || strings.Contains(registry, ":/") {
		return fmt.Errorf("%w %q: want REGISTRY[:PORT][/PATH], e.g. registry.example.com:5000/k8s", ErrRegistry, registry)
	}
	remoteOpts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}
	if insecure {
		t := remote.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for with --insecure-registry
		remoteOpts = append(remoteOpts, remote.WithTransport(t))
	}
	for _, img := range images {
		to := moved(img.Ref, registry)
		if img.Archive == "" || to == "" {
			continue
		}
		tag, err := name.NewTag(img.Ref)
		if err != nil {
			return err
		}
		local, err := tarball.ImageFromPath(img.Archive, &tag)
		if err != nil {
			return fmt.Errorf("image %s: %w", img.Ref, err)
		}
		dst, err := name.NewTag(to, opts...)
		if err != nil {
			return fmt.Errorf("%w %q: %v", ErrRegistry, registry, err)
		}
		if err := remote.Write(dst, local, remoteOpts...); err != nil {
			return fmt.Errorf("push %s to %s: %w", img.Ref, dst, err)
		}
	}
	data, err := yaml.Marshal(repoList{PromoterE2eRegistry: registry + "/e2e-test-images", GcEtcdRegistry: registry})
	if err != nil {
		return err
	}
	return os.WriteFile(listFile, data, 0o644)
}
