package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kubeproof/kubeproof/chaos/kindnode"
	"github.com/kubeproof/kubeproof/cluster/kindcluster"
	"github.com/kubeproof/kubeproof/fixtures/workloadimage"
	"github.com/kubeproof/kubeproof/internal/clusterlock"
	"github.com/kubeproof/kubeproof/internal/exitcode"
	"github.com/kubeproof/kubeproof/internal/kindstate"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/internal/version"
	"github.com/kubeproof/kubeproof/reporters/html"
	"github.com/kubeproof/kubeproof/reporters/junit"
	"github.com/kubeproof/kubeproof/reporters/results"
	"github.com/kubeproof/kubeproof/reporters/summary"
	"github.com/kubeproof/kubeproof/suites/contract"
)

// Run executes one run and returns its results; the error's exit code says
// whether a check failed (1), the input was bad (2) or the cluster or
// machine could not be used (3).
func Run(ctx context.Context, o Options, out io.Writer) (*results.Run, error) {
	if err := o.validate(); err != nil {
		return nil, exitcode.UsageError(err)
	}
	// A workload image from a registry runs by digest: the same image in
	// every pod, and the results say which.
	if o.WorkloadImage != "" {
		resolved, err := workloadimage.Resolve(ctx, o.WorkloadImage, o.InsecureRegistry)
		if errors.Is(err, workloadimage.ErrBadReference) {
			return nil, exitcode.UsageError(err)
		}
		if err != nil {
			return nil, exitcode.EnvironmentError(err)
		}
		o.WorkloadImage = resolved
	}
	run := &results.Run{SchemaVersion: results.SchemaVersion, RunID: o.RunID, KubeproofVersion: version.Version, Profile: o.Profile, TargetVersion: o.TargetVersion, Focus: o.Focus, StartedAt: time.Now().UTC()}

	useKind := o.Kind || (o.Kubeconfig == "" && o.Context == "" && !kubeconfigAvailable())
	var kindName string
	if useKind {
		kindName = "kubeproof-run-" + strings.ToLower(o.RunID)
		lock, err := clusterlock.Kind(kindName, "run "+o.RunID)
		if err != nil {
			return nil, exitcode.BusyError(err)
		}
		defer lock.Unlock()
		fmt.Fprintf(out, "creating kind cluster %s for this run (deleted afterwards unless --keep-cluster)\n", kindName)
		cl, err := kindcluster.Create(ctx, kindcluster.CreateOptions{
			Name: kindName, Config: o.KindConfig, Image: o.KindImage, Out: out, RunID: runOwned(o),
			KubeconfigPath: filepath.Join(o.OutputDir, "kubeconfig"),
			LogsDir:        filepath.Join(o.OutputDir, "cluster-logs"),
		})
		if err != nil {
			if errors.Is(err, kindcluster.ErrBadConfig) {
				return nil, exitcode.UsageError(err)
			}
			return nil, exitcode.EnvironmentError(err)
		}
		o.Kubeconfig = cl.KubeconfigPath
		run.Cluster.NodeImage = cl.Image
		if !o.KeepCluster {
			defer func() {
				if err := kindcluster.Delete(kindName, cl.KubeconfigPath); err != nil {
					fmt.Fprintf(out, "warning: %v\n", err)
				}
			}()
		}
	}
	client, err := kube.NewClient(o.Kubeconfig, o.Context)
	if err != nil {
		return nil, exitcode.EnvironmentError(fmt.Errorf("%w: %v: pass --kubeconfig/--context, or --kind for a throwaway cluster", ErrUnusable, err))
	}
	if kindName == "" && !o.NotKind {
		kindName = kindnode.ClusterFromContext(client.ContextName)
	}
	consent := o.AllowDisruptive || useKind || ownCluster(client, kindName)
	grants := grantsFor(o.Profile, contract.SelectsDisruptive(o.Profile, consent), o.ImagePullSecret)
	version, err := preflight(ctx, client, o.Profile, grants)
	if err != nil {
		return nil, exitcode.EnvironmentError(err)
	}
	if o.TargetVersion != "" {
		t, _ := parseTarget(o.TargetVersion) // validated with the flags
		if err := checkTarget(version, t); err != nil {
			return nil, exitcode.UsageError(err)
		}
	}
	if err := checkPullSecret(ctx, client, o.ImagePullSecret); err != nil {
		return nil, err
	}
	// One run at a time per cluster, from before anything is created until
	// the sweep is done (deferred calls run after it).
	lease, tookOver, err := clusterlock.Acquire(ctx, client, o.RunID)
	if errors.Is(err, clusterlock.ErrBusy) {
		return nil, exitcode.BusyError(err)
	}
	if err != nil {
		return nil, exitcode.EnvironmentError(fmt.Errorf("%w: %v", ErrUnusable, err))
	}
	if tookOver != "" {
		fmt.Fprintf(out, "took over the cluster's Lease from %s\n", tookOver)
	}
	defer func() {
		if err := lease.Release(context.WithoutCancel(ctx)); err != nil {
			fmt.Fprintf(out, "warning: %v\n", err)
		}
	}()
	if kindName != "" && !useKind {
		lock, err := clusterlock.Kind(kindName, "run "+o.RunID)
		if err != nil {
			return nil, exitcode.BusyError(err)
		}
		defer lock.Unlock()
	}
	run.Cluster.Context, run.Cluster.Server, run.Cluster.ServerVersion = client.ContextName, client.Config.Host, version
	run.Cluster.KindClusterName, run.Cluster.CreatedByRunner = kindName, useKind
	fingerprint(ctx, client, &run.Cluster)

	if o.WorkloadImage == "" {
		if kindName == "" {
			return nil, exitcode.UsageError(fmt.Errorf("the cluster is not a kind cluster (or --no-kind-detection), so kubeproof cannot side-load its workload image: push it to a registry the nodes can pull from (see README) and pass --workload-image"))
		}
		if o.WorkloadImage, err = workloadimage.OnKind(ctx, kindName); err != nil {
			return nil, exitcode.EnvironmentError(err)
		}
	}
	run.Cluster.WorkloadImage = o.WorkloadImage
	started, err := imageStart(ctx, client, o, out)
	if err != nil {
		// The pods' namespace goes before the run ends.
		left := sweep(context.WithoutCancel(ctx), client, o.RunID)
		if ctx.Err() != nil {
			return nil, interrupted(left)
		}
		return nil, exitcode.EnvironmentError(err)
	}
	run.Cluster.WorkloadImageStart = started

	filter, leftOut := contract.Filter(o.Profile, o.LabelFilter, consent)
	run.LabelFilter, run.LeftOut = filter, leftOut
	before := nodeStates(ctx, client)
	o.KindCluster = kindName
	suiteErr := runSuites(ctx, o, filter, out)
	if errors.Is(suiteErr, errKilled) {
		return run, exitcode.WithCode(exitcode.Interrupted, fmt.Errorf("interrupted twice: the run's objects and faults may remain; remove them with `kubeproof chaos revert --run-id %s` and `kubeproof cleanup --run-id %s`", o.RunID, o.RunID))
	}
	cleanupCtx := context.WithoutCancel(ctx)
	run.Leftovers = append(run.Leftovers, sweep(cleanupCtx, client, o.RunID)...)
	// Only a run that may break nodes looks inside their containers for
	// what a fault leaves (about 0.5 s of docker commands): without a
	// disruptive check, anything found there is not this run's.
	inspect := ""
	if contract.SelectsDisruptive(o.Profile, consent) {
		inspect = kindName
	}
	run.Leftovers = append(run.Leftovers, leftoverFaults(cleanupCtx, client, inspect, o.RunID, before)...)

	reports, rerr := results.LoadGinkgoReport(filepath.Join(o.OutputDir, ginkgoReport))
	if rerr != nil && suiteErr == nil {
		suiteErr = rerr
	}
	run.Checks = results.ChecksFromGinkgo(reports)
	var confErr error // the checks' results are written even so
	if o.Conformance && ctx.Err() == nil && suiteErr == nil {
		confErr = runConformance(ctx, o, client, kindName, run, out)
	}
	run.FinishedAt = time.Now().UTC()
	_, run.Refused = kube.Refusals()
	run.Recount()
	if err := writeResults(run, o.OutputDir); err != nil {
		return run, exitcode.EnvironmentError(err)
	}
	fmt.Fprintln(out)
	summary.Write(out, run)
	fmt.Fprintf(out, "results: %s\n", o.OutputDir)
	switch {
	case ctx.Err() != nil:
		return run, interrupted(run.Leftovers)
	case confErr != nil:
		return run, fmt.Errorf("upstream conformance: %w", confErr)
	case run.Summary.Failed > 0:
		return run, exitcode.WithCode(exitcode.CheckFailed, fmt.Errorf("%d of %d checks failed%s", run.Summary.Failed, run.Summary.Passed+run.Summary.Failed, conformanceFailures(run)))
	case len(run.Leftovers) > 0:
		return run, exitcode.WithCode(exitcode.CheckFailed, fmt.Errorf("the run left objects behind: %s", strings.Join(run.Leftovers, "; ")))
	case suiteErr != nil:
		return run, exitcode.EnvironmentError(fmt.Errorf("suites did not run to the end: %w", suiteErr))
	case run.Summary.Passed == 0:
		return run, exitcode.UsageError(fmt.Errorf("no check ran: the filter %q selects nothing", filter))
	}
	return run, nil
}

// interrupted is the error of an interrupted run, saying what it left.
func interrupted(leftovers []string) error {
	if len(leftovers) > 0 {
		return exitcode.WithCode(exitcode.Interrupted, fmt.Errorf("interrupted; the run left behind: %s", strings.Join(leftovers, "; ")))
	}
	return exitcode.WithCode(exitcode.Interrupted, errors.New("interrupted: the run's objects were removed"))
}

// errKilled: the user interrupted twice and the specs were killed without
// their cleanups.
var errKilled = errors.New("killed on a second interrupt")

// The files a run writes in its output directory.
const (
	ResultsFile  = "results.json"
	JUnitFile    = "junit.xml"
	ReportFile   = "report.html"
	ginkgoReport = "ginkgo-report.json"
	ginkgoLog    = "ginkgo.log"
	progressFile = "progress.jsonl"
)

func writeResults(run *results.Run, dir string) error {
	if err := run.Save(filepath.Join(dir, ResultsFile)); err != nil {
		return err
	}
	if err := junit.Write(run, filepath.Join(dir, JUnitFile)); err != nil {
		return err
	}
	return html.WriteFile(run, filepath.Join(dir, ReportFile))
}

// runSuites runs the compiled suites under the ginkgo CLI (parallel
// processes) and prints progress as specs finish. On interrupt it hands
// SIGINT to Ginkgo, which runs every registered cleanup before exiting.
func runSuites(ctx context.Context, o Options, filter string, out io.Writer) error {
	ginkgo, suites, err := suiteBinaries(ctx)
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(o.OutputDir)
	if err != nil {
		return err
	}
	progress := filepath.Join(abs, progressFile)
	if err := os.Remove(progress); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	settings := o.Settings
	settings.Kubeconfig, settings.ProgressFile, settings.RunnerPID = absOrEmpty(o.Kubeconfig), progress, os.Getpid()
	args := []string{
		fmt.Sprintf("--procs=%d", o.Procs), "--label-filter=" + filter,
		"--json-report=" + ginkgoReport, "--output-dir=" + abs,
		"--timeout=" + o.Timeout.String(), "--no-color", "--silence-skips",
		// Each check scheduled on its own, longest first (SpecPriority).
		"--randomize-all",
	}
	if o.Focus != "" {
		args = append(args, "--focus="+o.Focus)
	}
	args = append(append(args, suites, "--"), settings.Args()...)
	logFile, err := os.Create(filepath.Join(abs, ginkgoLog))
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(ginkgo, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group: the runner decides when Ginkgo is interrupted
	// (once), so a terminal's Ctrl-C does not reach it twice.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start ginkgo: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tail := newProgressTail(progress, out)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	interrupt := ctx.Done()
	var again chan os.Signal
	interrupted := false
	for {
		select {
		case err := <-done:
			tail.poll()
			var exit *exec.ExitError
			if errors.As(err, &exit) && !interrupted {
				// Ginkgo exits non-zero when a spec fails: the report says which.
				return nil
			}
			return err
		case <-tick.C:
			tail.poll()
		case <-interrupt:
			// Once: Ginkgo runs every registered cleanup on SIGINT. A second
			// signal means the user will not wait for them.
			interrupt, interrupted = nil, true
			again = make(chan os.Signal, 1)
			signal.Notify(again, os.Interrupt, syscall.SIGTERM)
			defer signal.Stop(again)
			fmt.Fprintln(out, "interrupted: stopping specs and running their cleanups (interrupt again to stop at once)...")
			if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
				fmt.Fprintf(out, "warning: interrupt ginkgo: %v\n", err)
			}
		case <-again:
			fmt.Fprintln(out, "interrupted again: killing the specs; `kubeproof chaos revert` and `kubeproof cleanup` remove what they leave")
			if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
				fmt.Fprintf(out, "warning: kill ginkgo: %v\n", err)
			}
			<-done
			return errKilled
		}
	}
}

func absOrEmpty(p string) string {
	if p == "" {
		return ""
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return abs
}

func kubeconfigAvailable() bool {
	if os.Getenv("KUBECONFIG") != "" {
		return true
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return false
	}
	_, err = os.Stat(filepath.Join(home, ".kube", "config"))
	return err == nil
}

// ownCluster: a kind cluster kubeproof created on this machine, at this
// kubeconfig's server, may be broken without further consent.
func ownCluster(c *kube.Client, kindCluster string) bool {
	owned, _ := kindstate.Created(kindCluster, c.Config.Host)
	return owned
}

// runOwned is the run ID a --kind cluster is recorded under: the run's, so
// that `kubeproof cleanup` removes it if the run is killed before deleting
// it; none with --keep-cluster, which hands the cluster to the user.
func runOwned(o Options) string {
	if o.KeepCluster {
		return ""
	}
	return o.RunID
}
