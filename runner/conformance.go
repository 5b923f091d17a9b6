package runner

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/kubeproof/kubeproof/conformance"
	"github.com/kubeproof/kubeproof/conformance/bundle"
	"github.com/kubeproof/kubeproof/internal/exitcode"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/reporters/results"
)

// conformanceDir is where the upstream suite's e2e.log and junit_01.xml
// go, under the run's output folder.
const conformanceDir = "conformance"

// runConformance runs the upstream [Conformance] specs after kubeproof's
// own checks (--conformance) and adds them to the run: the suite's
// version and outputs, and each spec as a check of the conformance area
// with the upstream failure's first line as its reason.
func runConformance(ctx context.Context, o Options, client *kube.Client, kind string, run *results.Run, out io.Writer) error {
	fmt.Fprintln(out, "\nupstream conformance: the [Conformance] specs of the cluster's version (the whole set takes about an hour on 2 cores)")
	e := conformance.ExecuteOptions{
		Client: client, Kubeconfig: kube.KubeconfigFile(o.Kubeconfig), Context: o.Context,
		Focus: o.ConformanceFocus, Procs: o.Procs, OutputDir: filepath.Join(o.OutputDir, conformanceDir),
		Registry: o.ConformanceRegistry, InsecureRegistry: o.InsecureRegistry, Log: out, Status: out,
	}
	if !o.NotKind {
		e.Kind = kind
	}
	s, res, err := conformance.Execute(ctx, e)
	if err != nil {
		return err
	}
	required, err := bundle.LoadRequired(s.ConformanceYAML)
	if err != nil {
		return exitcode.EnvironmentError(err)
	}
	run.Conformance = &results.Conformance{
		Version: s.Version, Required: len(required), Partial: res.Partial, Seconds: res.Took.Seconds(),
		E2ELog: filepath.Join(conformanceDir, "e2e.log"), JUnit: filepath.Join(conformanceDir, "junit_01.xml"),
	}
	for _, spec := range res.Specs {
		verdict := results.Passed
		if spec.State != "passed" {
			verdict = results.Failed // Ginkgo's failed, panicked, timedout, interrupted
		}
		run.Checks = append(run.Checks, results.Check{
			ID: spec.Name, Area: results.ConformanceArea, Name: spec.Name,
			Verdict: verdict, Reason: spec.Failure, Seconds: spec.Seconds,
		})
	}
	run.Leftovers = append(run.Leftovers, res.Left...)
	return nil
}

// conformanceFailures says how many of a run's failed checks are upstream
// conformance specs: "" if none.
func conformanceFailures(run *results.Run) string {
	n := 0
	for _, c := range run.Checks {
		if c.Area == results.ConformanceArea && c.Verdict == results.Failed {
			n++
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d of them upstream conformance specs)", n)
}
