package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"

	"github.com/kubeproof/kubeproof/internal/gobuild"
	"github.com/kubeproof/kubeproof/internal/paths"
)

// ErrVersion: a Kubernetes version that is not vMAJOR.MINOR.PATCH.
var ErrVersion = errors.New("bad Kubernetes version")

var versionRE = regexp.MustCompile(`^v1\.(\d+)\.(\d+)$`)

// Suite is the upstream e2e suite of one Kubernetes version, built here.
type Suite struct {
	Version string
	// E2E is the e2e.test binary; Ginkgo the ginkgo command of the
	// version e2e.test links (it runs the parallel processes); Kubectl
	// the kubectl its specs shell out to (the one on PATH may be anything);
	// Agnhost the agnhost program its images run; ConformanceYAML the
	// release's list of [Conformance] specs (test/conformance/testdata/
	// conformance.yaml), what a submission must contain.
	E2E, Ginkgo, Kubectl, Agnhost, ConformanceYAML string
	// Nnp is test/images/nonewprivs's program.
	Nnp string
	// Source is k8s.io/kubernetes's source in the module cache: the
	// images' files (porter's certificate, nautilus's pages).
	Source string
}

// SuiteOptions shape BuildSuite.
type SuiteOptions struct {
	// Version of Kubernetes, e.g. v1.34.4: the suite must match the
	// cluster's minor.
	Version string
	// CacheDir keeps the build (default: kubeproof's cache).
	CacheDir string
	Log      io.Writer
}

// BuildSuite builds e2e.test and agnhost from k8s.io/kubernetes at the
// version on the Go module proxy, into <cache>/e2e-<version>/, once per
// version: about 5 minutes cold, nothing when cached.
func BuildSuite(ctx context.Context, o SuiteOptions) (*Suite, error) {
	if !versionRE.MatchString(o.Version) {
		return nil, fmt.Errorf("%w %q: want vMAJOR.MINOR.PATCH such as v1.34.4", ErrVersion, o.Version)
	}
	if o.CacheDir == "" {
		o.CacheDir = paths.CacheDir()
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	dir := filepath.Join(o.CacheDir, "e2e-"+o.Version)
	bin := filepath.Join(dir, "bin")
	s := &Suite{Version: o.Version, E2E: filepath.Join(bin, "e2e.test"), Ginkgo: filepath.Join(bin, "ginkgo"), Kubectl: filepath.Join(bin, "kubectl"), Agnhost: filepath.Join(bin, "agnhost"), ConformanceYAML: filepath.Join(bin, "conformance.yaml"), Nnp: filepath.Join(bin, "nnp")}
	const agnhost, nnp, ginkgo, kubectl = "k8s.io/kubernetes/test/images/agnhost", "k8s.io/kubernetes/test/images/nonewprivs", "github.com/onsi/ginkgo/v2/ginkgo", "k8s.io/kubernetes/cmd/kubectl"
	m, err := gobuild.Kubernetes(ctx, dir, o.Version, agnhost, nnp, ginkgo, kubectl, "k8s.io/kubernetes/test/e2e")
	if err != nil {
		return nil, err
	}
	if err := m.Write(ctx); err != nil {
		return nil, err
	}
	if s.Source, err = m.ModuleDir(ctx, "k8s.io/kubernetes"); err != nil {
		return nil, err
	}
	if gobuild.AllExist(bin, "e2e.test", "ginkgo", "kubectl", "agnhost", "nnp", "conformance.yaml") {
		fmt.Fprintf(o.Log, "e2e suite %s: cached in %s\n", o.Version, bin)
		return s, nil
	}
	fmt.Fprintf(o.Log, "e2e suite %s: building e2e.test, ginkgo, kubectl, agnhost and nnp from k8s.io/kubernetes (about 5 min the first time)\n", o.Version)
	// The version is what e2e.log's "e2e test version" line names, which
	// a certification submission is checked against.
	ld := gobuild.KubernetesLDFlags(o.Version)
	if err := m.Build(ctx, bin, ld, map[string]string{agnhost: "agnhost", nnp: "nnp", ginkgo: "ginkgo", kubectl: "kubectl"}); err != nil {
		return nil, err
	}
	if err := m.TestBinary(ctx, "k8s.io/kubernetes/test/e2e", s.E2E, ld); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(s.Source, "test", "conformance", "testdata", "conformance.yaml"))
	if err != nil {
		return nil, fmt.Errorf("the [Conformance] list of %s: %w", o.Version, err)
	}
	if err := os.WriteFile(s.ConformanceYAML+".partial", data, 0o644); err != nil {
		return nil, err
	}
	return s, os.Rename(s.ConformanceYAML+".partial", s.ConformanceYAML)
}
