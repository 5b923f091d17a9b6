package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/kubeproof/kubeproof/conformance/bundle"
	"github.com/kubeproof/kubeproof/internal/exitcode"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/internal/paths"
)

// ExecuteOptions shape Execute: a whole conformance run, from the cluster
// to its outputs. `kubeproof conformance run` and `kubeproof run
// --conformance` are two ways to fill them.
type ExecuteOptions struct {
	Client *kube.Client
	// Kubeconfig is the file e2e.test reads; Context its context ("" the
	// current one).
	Kubeconfig, Context string
	// Version is the suite's ("" the API server's vMAJOR.MINOR.PATCH).
	Version string
	// Focus, Skip and RerunFailed (an earlier run's OutputDir) run part of
	// the set: not valid for certification.
	Focus, Skip, RerunFailed string
	Procs                    int
	OutputDir                string
	// Kind is the kind cluster of this machine the images are side-loaded
	// into; "" with no Registry: the nodes pull from their usual
	// registries.
	Kind string
	// Registry receives the images built here; the suite runs them from
	// there (KUBE_TEST_REPO_LIST).
	Registry         string
	InsecureRegistry bool
	// Log gets a line per finished spec; Status what is built and where
	// the images go.
	Log, Status io.Writer
}

// Validate checks what needs no cluster; its errors are usage errors.
func (o *ExecuteOptions) Validate() error {
	for _, re := range []struct{ flag, value string }{{"--focus", o.Focus}, {"--skip", o.Skip}} {
		if _, err := regexp.Compile(re.value); err != nil {
			return exitcode.UsageError(fmt.Errorf("%s %q: not a regular expression: %v", re.flag, re.value, err))
		}
	}
	if o.Procs < 1 {
		return exitcode.UsageError(fmt.Errorf("--procs %d: want 1 or more", o.Procs))
	}
	if o.RerunFailed != "" && o.Focus != "" {
		return exitcode.UsageError(errors.New("--rerun-failed and --focus: give one of them"))
	}
	return nil
}

// serverVersion is the vMAJOR.MINOR.PATCH the API server reports
// (v1.34.4-eks-1234 -> v1.34.4).
var serverVersion = regexp.MustCompile(`^v1\.\d+\.\d+`)

// Execute builds the suite of the cluster's version and the images its
// [Conformance] specs run, puts the images where the nodes find them
// (side-loaded into Kind, or pushed to Registry), and runs the specs. Its
// errors carry their exit codes: 2 bad input (a version or filter), 3 the
// machine or cluster could not be used. Failed specs are in the Result,
// not an error.
func Execute(ctx context.Context, o ExecuteOptions) (*Suite, *Result, error) {
	if err := o.Validate(); err != nil {
		return nil, nil, err
	}
	status := o.Status
	if status == nil {
		status = io.Discard
	}
	if o.RerunFailed != "" {
		focus, err := failedFocus(o.RerunFailed)
		if err != nil {
			return nil, nil, exitcode.UsageError(err)
		}
		o.Focus = focus
	}
	if o.Version == "" {
		v, err := o.Client.Discovery().ServerVersion()
		if err != nil {
			return nil, nil, exitcode.EnvironmentError(fmt.Errorf("ask the API server its version: %v", err))
		}
		if o.Version = serverVersion.FindString(v.GitVersion); o.Version == "" {
			return nil, nil, exitcode.UsageError(fmt.Errorf("the API server reports version %q: pass --kubernetes-version vMAJOR.MINOR.PATCH", v.GitVersion))
		}
	}
	s, err := BuildSuite(ctx, SuiteOptions{Version: o.Version, Log: status})
	if errors.Is(err, ErrVersion) {
		return nil, nil, exitcode.UsageError(err)
	}
	if err != nil {
		return nil, nil, exitcode.EnvironmentError(err)
	}
	images, err := Images(ctx, s)
	if err != nil {
		return nil, nil, exitcode.EnvironmentError(err)
	}
	if err := os.MkdirAll(o.OutputDir, 0o755); err != nil {
		return nil, nil, exitcode.EnvironmentError(err)
	}
	var repoList string
	switch {
	case o.Registry != "":
		fmt.Fprintf(status, "images: building and pushing to %s\n", o.Registry)
		if err := BuildImages(ctx, s, paths.CacheDir(), images, io.Discard); err != nil {
			return nil, nil, exitcode.EnvironmentError(err)
		}
		repoList = filepath.Join(o.OutputDir, "repo-list.yaml")
		err := Push(ctx, images, o.Registry, o.InsecureRegistry, repoList)
		if errors.Is(err, ErrRegistry) {
			return nil, nil, exitcode.UsageError(err)
		}
		if err != nil {
			return nil, nil, exitcode.EnvironmentError(err)
		}
	case o.Kind != "":
		fmt.Fprintf(status, "images: building and side-loading into kind cluster %s\n", o.Kind)
		if err := BuildImages(ctx, s, paths.CacheDir(), images, io.Discard); err != nil {
			return nil, nil, exitcode.EnvironmentError(err)
		}
		if err := SideLoad(ctx, o.Kind, images); err != nil {
			return nil, nil, exitcode.EnvironmentError(err)
		}
	default:
		fmt.Fprintln(status, "images: not a kind cluster of this machine and no registry: its nodes must pull the suite's images from their usual registries")
	}
	res, err := Run(ctx, RunOptions{Suite: s, Client: o.Client, Kubeconfig: o.Kubeconfig, Context: o.Context, Focus: o.Focus, Skip: o.Skip, Procs: o.Procs, OutputDir: o.OutputDir, RepoList: repoList, Log: o.Log})
	if errors.Is(err, ErrNothingRan) {
		return s, nil, exitcode.UsageError(err)
	}
	if errors.Is(err, ErrInterrupted) {
		return s, nil, exitcode.WithCode(exitcode.Interrupted, err)
	}
	if err != nil {
		return s, nil, exitcode.EnvironmentError(err)
	}
	return s, res, nil
}

// failedFocus is a focus matching exactly the specs that failed in an
// earlier run's junit_01.xml.
func failedFocus(dir string) (string, error) {
	specs, err := bundle.Outcomes(filepath.Join(dir, "junit_01.xml"))
	if err != nil {
		return "", fmt.Errorf("--rerun-failed %s: %v: want the --output-dir of an earlier `kubeproof conformance run`", dir, err)
	}
	var names []string
	for _, s := range specs {
		if s.State != "passed" {
			// Ginkgo matches the text of the spec's containers and leaf
			// joined by spaces, after an empty top container's.
			names = append(names, `(^|\s)`+regexp.QuoteMeta(s.Name)+"$")
		}
	}
	if len(names) == 0 {
		return "", fmt.Errorf("--rerun-failed %s: no spec failed in that run: nothing to rerun", dir)
	}
	return strings.Join(names, "|"), nil
}
