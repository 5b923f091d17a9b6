//go:build e2e

package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubeproof/kubeproof/cluster/kindcluster"
	"github.com/kubeproof/kubeproof/fixtures/meta"
	"github.com/kubeproof/kubeproof/internal/paths"
	"github.com/kubeproof/kubeproof/nodeimage"
	"github.com/kubeproof/kubeproof/reporters/results"
)

// kubeproofBin is the CLI under test: $KUBEPROOF_BIN (make sets it), or
// bin/kubeproof of this tree.
func kubeproofBin(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("KUBEPROOF_BIN"); p != "" {
		return p
	}
	src, err := paths.SourceDir()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(src, "bin", "kubeproof")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s missing: run make build (or make e2e)", p)
	}
	return p
}

// kubeproofRun runs `kubeproof run` with args and returns the exit code,
// the results file and the output.
func kubeproofRun(t *testing.T, args ...string) (int, *results.Run, string) {
	t.Helper()
	dir := t.TempDir()
	if a := os.Getenv("ARTIFACTS"); a != "" {
		dir = filepath.Join(a, t.Name()+"-"+time.Now().Format("150405"))
	}
	return kubeproofRunIn(t, dir, args...)
}

// kubeproofRunIn is kubeproofRun writing into dir.
func kubeproofRunIn(t *testing.T, dir string, args ...string) (int, *results.Run, string) {
	t.Helper()
	cmd := exec.Command(kubeproofBin(t), append([]string{"run", "--output-dir", dir}, args...)...)
	out, err := cmd.CombinedOutput()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	t.Logf("kubeproof run %s -> exit %d\n%s", strings.Join(args, " "), code, out)
	run, lerr := results.Load(filepath.Join(dir, "results.json"))
	if lerr != nil && code <= 1 {
		t.Fatalf("results: %v", lerr)
	}
	return code, run, string(out)
}

// kubeproofCLI runs `kubeproof ARGS` and returns its exit code and
// output.
func kubeproofCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	out, err := exec.Command(kubeproofBin(t), args...).CombinedOutput()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	t.Logf("kubeproof %s -> exit %d\n%s", strings.Join(args, " "), code, out)
	return code, string(out)
}

// testCluster creates a default 3-node cluster for one test and deletes
// it when the test ends.
func testCluster(t *testing.T, name string) (kubeconfig string) {
	t.Helper()
	return kindClusterFor(t, name, "").KubeconfigPath
}

// kindClusterFor creates the kind cluster name from a shipped config (""
// = default) for one test, replacing a same-named leftover, and deletes it
// when the test ends.
func kindClusterFor(t *testing.T, name, config string) *kindcluster.Cluster {
	t.Helper()
	ctx := context.Background()
	image, err := nodeimage.Build(ctx, nodeimage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := kindcluster.Delete(name, ""); err != nil {
		t.Fatal(err)
	}
	cl, err := kindcluster.Create(ctx, kindcluster.CreateOptions{Name: name, Image: image, Config: config})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := kindcluster.Delete(name, ""); err != nil {
			t.Errorf("delete cluster %s: %v", name, err)
		}
	})
	return cl
}

func checkByName(run *results.Run, name string) *results.Check {
	for i := range run.Checks {
		if run.Checks[i].Name == name {
			return &run.Checks[i]
		}
	}
	return nil
}

// checkNamespaces selects what a run's checks create: the run's objects
// but the image start's, which come and go before any check.
func checkNamespaces(runID string) string {
	return meta.LabelRunID + "=" + runID + "," + meta.LabelSpec + "!=image-start"
}
