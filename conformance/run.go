package conformance

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kubeproof/kubeproof/conformance/bundle"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/internal/proc"
)

// Focus is the conformance set: a run with exactly this focus and no
// other filter is one a certification can use.
const Focus = `\[Conformance\]`

// ErrNothingRan: the filters selected no spec, which proves nothing.
var ErrNothingRan = errors.New("nothing ran")

// ErrInterrupted: the run was asked to stop.
var ErrInterrupted = errors.New("interrupted")

// RunOptions shape Run.
type RunOptions struct {
	Suite *Suite
	// Client reaches the same cluster as Kubeconfig and Context: the run
	// records the namespaces the suite creates (see CleanupNamespaces).
	Client              *kube.Client
	Kubeconfig, Context string
	// Focus and Skip narrow the conformance set (Ginkgo regular
	// expressions over spec texts): a partial run, not valid for
	// certification.
	Focus, Skip string
	// Procs is Ginkgo's parallel processes; [Serial] specs run alone at
	// the end whatever it is.
	Procs     int
	OutputDir string
	// RepoList, when set, is the file Push wrote: the suite runs the
	// images from that registry (KUBE_TEST_REPO_LIST).
	RepoList string
	// Log gets a line per finished spec.
	Log io.Writer
}

// Result is what a run did, read from its junit_01.xml.
type Result struct {
	// Partial is why the run is not valid for certification ("" for a
	// run of the whole conformance set).
	Partial string
	// E2ELog and JUnit are the untouched upstream outputs.
	E2ELog, JUnit string
	Specs         []bundle.Outcome
	Passed        int
	Failed        []bundle.Outcome
	Took          time.Duration
	// Left are the suite's namespaces that could not be deleted after it.
	Left []string
}

// Partial says why a run with these filters is not valid for
// certification, "" when it is.
func Partial(focus, skip string) string {
	var why []string
	if focus != "" {
		why = append(why, fmt.Sprintf("--focus %q", focus))
	}
	if skip != "" {
		why = append(why, fmt.Sprintf("--skip %q", skip))
	}
	if len(why) == 0 {
		return ""
	}
	return "not valid for certification: " + strings.Join(why, " and ") + " ran part of the conformance set"
}

// Run runs the suite's [Conformance] specs with Ginkgo against the
// cluster, as the conformance tools do (skeleton provider, verbose log),
// writing e2e.log (everything the run printed) and junit_01.xml into
// OutputDir, and reads the outcome back from the JUnit report. A spec
// that fails is in Result.Failed, not an error: an error is a run that
// could not be carried out.
func Run(ctx context.Context, o RunOptions) (*Result, error) {
	if err := os.MkdirAll(o.OutputDir, 0o755); err != nil {
		return nil, err
	}
	res := &Result{Partial: Partial(o.Focus, o.Skip), E2ELog: filepath.Join(o.OutputDir, "e2e.log"), JUnit: filepath.Join(o.OutputDir, "junit_01.xml")}
	args := []string{"--procs", strconv.Itoa(max(o.Procs, 1)), "-v", "--no-color", "--timeout", "24h"}
	if o.Focus == "" && o.Skip == "" {
		args = append(args, "--focus", Focus)
	} else {
		// A partial run keeps to the conformance set: its specs carry the
		// Conformance label.
		args = append(args, "--label-filter", "Conformance")
		if o.Focus != "" {
			args = append(args, "--focus", o.Focus)
		}
		if o.Skip != "" {
			args = append(args, "--skip", o.Skip)
		}
	}
	suiteArgs := []string{"--kubeconfig", o.Kubeconfig, "--provider", "skeleton", "--kubectl-path", o.Suite.Kubectl,
		"--report-dir", o.OutputDir, "--disable-log-dump"}
	if o.Context != "" {
		suiteArgs = append(suiteArgs, "--context", o.Context)
	}
	logFile, err := os.Create(res.E2ELog)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	e2e, err := runBinary(o.Suite)
	if err != nil {
		return nil, err
	}
	defer os.Remove(e2e)
	// The journal watches until the spec processes are gone, interrupted
	// or not: an interrupted spec may still create a namespace.
	watching, stopWatching := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWatching()
	j, err := startJournal(watching, o.Client, filepath.Base(e2e), cmp.Or[io.Writer](o.Log, io.Discard))
	if err != nil {
		return nil, err
	}
	args = append(append(args, e2e, "--"), suiteArgs...)
	cmd := exec.CommandContext(ctx, o.Suite.Ginkgo, args...)
	if o.RepoList != "" {
		cmd.Env = append(os.Environ(), "KUBE_TEST_REPO_LIST="+o.RepoList)
	}
	// Ginkgo and its spec processes in a group of their own: interrupted
	// as one (SIGINT: each process runs its spec's cleanups, which delete
	// the namespaces it made), and killed as one if they outlast that.
	// Ginkgo goes if this process is killed; its spec processes, then
	// orphans, are in the journal for `kubeproof cleanup`.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) }
	cmd.WaitDelay = 2 * time.Minute
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", o.Suite.Ginkgo, err)
	}
	j.group(cmd.Process.Pid)
	est := newEstimate(loadDurations(o.Suite), o.Focus, o.Skip, o.Procs)
	if o.Focus == "" && o.Skip == "" {
		est = newEstimate(loadDurations(o.Suite), Focus, "", o.Procs)
	}
	selected := follow(io.TeeReader(out, logFile), o.Log, start, est)
	runErr := cmd.Wait()
	res.Took = time.Since(start)
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // any spec process that outlived Ginkgo
	stopWatching()
	res.Left = j.finish(context.WithoutCancel(ctx), o.Client)
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%w after %s: the specs were stopped and their namespaces deleted; e2e.log so far: %s", ErrInterrupted, res.Took.Round(time.Second), res.E2ELog)
	}
	if selected == 0 {
		// Ginkgo writes no report for a run of no spec.
		return nil, fmt.Errorf("%w: no conformance spec matched (--focus %q, --skip %q): see %s", ErrNothingRan, o.Focus, o.Skip, res.E2ELog)
	}
	specs, err := bundle.Outcomes(res.JUnit)
	if err != nil {
		return nil, fmt.Errorf("the run wrote no readable junit_01.xml (%v): see %s; ginkgo: %v", err, res.E2ELog, runErr)
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("%w: no conformance spec matched (--focus %q, --skip %q): see %s", ErrNothingRan, o.Focus, o.Skip, res.E2ELog)
	}
	res.Specs = specs
	if err := saveDurations(o.Suite, specs); err != nil {
		fmt.Fprintf(o.Log, "warning: durations for the next estimate: %v\n", err)
	}
	for _, s := range specs {
		if s.State == "passed" {
			res.Passed++
		} else {
			res.Failed = append(res.Failed, s)
		}
	}
	if runErr != nil && len(res.Failed) == 0 {
		return nil, fmt.Errorf("ginkgo: %v (no spec failed: see %s)", runErr, res.E2ELog)
	}
	return res, nil
}

// runBinary links e2e.test under a name of this run's: the API server
// records the binary's name as the field manager of what it creates, so
// the run's namespaces are told from those of anything else running the
// suite on the cluster. Links of runs that are gone are removed.
func runBinary(s *Suite) (string, error) {
	dir := filepath.Join(filepath.Dir(s.E2E), "runs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if old, err := filepath.Glob(filepath.Join(dir, "e2e-kubeproof-*.test")); err == nil {
		for _, o := range old {
			var pid int
			if _, err := fmt.Sscanf(filepath.Base(o), "e2e-kubeproof-%d-", &pid); err == nil && !proc.Alive(pid) {
				os.Remove(o)
			}
		}
	}
	link := filepath.Join(dir, fmt.Sprintf("e2e-kubeproof-%d-%d.test", os.Getpid(), time.Now().Unix()))
	if err := os.Link(s.E2E, link); err != nil {
		return "", fmt.Errorf("link %s for this run: %w", s.E2E, err)
	}
	return link, nil
}

var (
	willRun   = regexp.MustCompile(`^Will run (\d+) of \d+ specs`)
	specEnded = regexp.MustCompile(`^• (\[[A-Z]+\] )?\[([0-9.]+) seconds\]`)
	// specLabels end a spec's text in the log: " [sig-node, Conformance]".
	specLabels = regexp.MustCompile(` \[[^\]]*Conformance\]$`)
)

// follow reads Ginkgo's verbose output and writes a line per finished
// spec: "[ 12/424  3m04s] PASS <spec> (2.1s)", with "about 20m left"
// when earlier runs timed the specs still to come. It returns how many
// specs Ginkgo said it would run, -1 if it never said.
func follow(r io.Reader, log io.Writer, start time.Time, est *estimate) int {
	if log == nil {
		log = io.Discard
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1024*1024), 16*1024*1024)
	total, done := -1, 0
	var ended []string // the "• ..." line waiting for the spec's text
	for sc.Scan() {
		line := sc.Text()
		if m := willRun.FindStringSubmatch(line); m != nil {
			total, _ = strconv.Atoi(m[1])
			est.runs(total)
			fmt.Fprintf(log, "running %d conformance specs", total)
			if est != nil {
				fmt.Fprintf(log, ", about %s by earlier runs' durations", est.remaining())
			}
			fmt.Fprintln(log)
			continue
		}
		if m := specEnded.FindStringSubmatch(line); m != nil {
			ended = m
			continue
		}
		if ended == nil {
			continue
		}
		state := "PASS"
		if ended[1] != "" {
			state = strings.TrimSpace(strings.Trim(ended[1], "[] "))
		}
		done++
		name := specLabels.ReplaceAllString(line, "")
		left := ""
		if est != nil {
			est.done(strings.Replace(name, "[It] ", "", 1))
			left = fmt.Sprintf(", about %s left", est.remaining())
		}
		fmt.Fprintf(log, "[%4d/%d %6s%s] %s %s (%ss)\n", done, total, time.Since(start).Round(time.Second), left, state, name, ended[2])
		ended = nil
	}
	return total
}
