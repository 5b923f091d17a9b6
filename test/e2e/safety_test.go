//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubeproof/kubeproof/chaos/journal"
	"github.com/kubeproof/kubeproof/fixtures/meta"
	"github.com/kubeproof/kubeproof/internal/clusterlock"
	"github.com/kubeproof/kubeproof/internal/kindstate"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/internal/proc"
	"github.com/kubeproof/kubeproof/reporters/results"
)

// TestSafety breaks runs on one fast-recovery cluster in every way the
// hardening issue names: SIGKILL of everything while a node is stopped,
// SIGKILL of the runner at each boundary (the kill matrix), two runs
// started in the same second, and a revert pointed at another cluster.
// After each, `chaos revert` and `cleanup` must leave the cluster whole.
func TestSafety(t *testing.T) {
	t.Setenv("KUBEPROOF_JOURNAL_DIR", t.TempDir())
	cl := kindClusterFor(t, "kubeproof-e2e-safety", "fast-recovery")
	s := &safety{kubeconfig: cl.KubeconfigPath}
	var err error
	if s.client, err = kube.NewClient(cl.KubeconfigPath, ""); err != nil {
		t.Fatal(err)
	}

	t.Run("everything SIGKILLed while a node is stopped", s.killEverything)
	t.Run("kill matrix", func(t *testing.T) {
		for _, row := range []struct {
			boundary string
			run      func(t *testing.T) killRow
		}{
			{"before inject", func(t *testing.T) killRow { return s.killRunnerAt(t, "before inject", s.beforeInject) }},
			{"fault active", func(t *testing.T) killRow { return s.killRunnerAt(t, "fault active", s.faultActive) }},
			{"during revert", func(t *testing.T) killRow { return s.killRunnerAt(t, "during revert", s.duringRevert) }},
			{"during sweep", s.killDuringSweep},
			{"during kind delete", s.killDuringKindDelete},
		} {
			t.Run(row.boundary, func(t *testing.T) { s.rows = append(s.rows, row.run(t)) })
		}
		t.Log("kill matrix (runner SIGKILLed; then chaos revert + cleanup):\n" + s.table())
		writeArtifact(t, "kill-matrix.json", s.rows)
	})
	t.Run("output closed during a run: the run goes on and cleans up", s.outputClosed)
	t.Run("two runs started in the same second", s.twoRunsAtOnce)
	t.Run("revert refused on another cluster", s.wrongCluster)
}

type safety struct {
	kubeconfig string
	client     *kube.Client
	rows       []killRow
}

// killRow is one line of the kill matrix.
type killRow struct {
	Boundary string `json:"boundary"`
	// Killed: what the run was doing when its runner died.
	Killed string `json:"killed"`
	// ChildrenGone: seconds until no process of the run was left.
	ChildrenGone float64 `json:"childrenGoneSeconds"`
	// Cleaned: what chaos revert and cleanup found to remove.
	Cleaned string `json:"cleaned"`
	// Whole: seconds from the kill until the cluster was whole again.
	Whole float64 `json:"wholeSeconds"`
}

func (s *safety) table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "| boundary | killed while | children gone (s) | revert + cleanup removed | whole after (s) |\n|---|---|---|---|---|\n")
	for _, r := range s.rows {
		fmt.Fprintf(&b, "| %s | %s | %.1f | %s | %.1f |\n", r.Boundary, r.Killed, r.ChildrenGone, r.Cleaned, r.Whole)
	}
	return b.String()
}

// run starts `kubeproof run` on the cluster; its output goes to a buffer.
type run struct {
	id, dir string
	cmd     *exec.Cmd
	out     *syncBuffer
	done    chan error
}

func (s *safety) start(t *testing.T, runID string, args ...string) *run {
	t.Helper()
	r := &run{id: runID, dir: filepath.Join(t.TempDir(), runID), out: &syncBuffer{}, done: make(chan error, 1)}
	all := append([]string{"run", "--run-id", runID, "--output-dir", r.dir}, args...)
	if !contains(args, "--kind") {
		all = append(all, "--kubeconfig", s.kubeconfig)
	}
	r.cmd = exec.Command(kubeproofBin(t), all...)
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() {
		// A test that failed midway must not leave a run behind.
		_ = r.cmd.Process.Kill()
	})
	return r
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// nodeStopRun is the run every kill-matrix row breaks: the node-stop
// scenario (fault journalled, node stopped, observed, restarted).
func (s *safety) nodeStopRun(t *testing.T, prefix string) *run {
	return s.start(t, prefix+"-"+time.Now().Format("150405"), "--profile", "certification", "--label-filter", "chaos:node-stop")
}

// killRunnerAt starts the node-stop run, waits until at(r) says the
// boundary is reached, SIGKILLs the runner alone, then checks that its
// children follow it and that revert + cleanup leave the cluster whole.
func (s *safety) killRunnerAt(t *testing.T, boundary string, at func(t *testing.T, r *run) string) killRow {
	r := s.nodeStopRun(t, strings.ReplaceAll(boundary, " ", "-"))
	killed := at(t, r)
	return s.killAndRestore(t, r, boundary, killed)
}

func (s *safety) killAndRestore(t *testing.T, r *run, boundary, killed string) killRow {
	t.Helper()
	if err := r.cmd.Process.Kill(); err != nil {
		t.Fatalf("SIGKILL runner: %v", err)
	}
	at := time.Now()
	<-r.done
	row := killRow{Boundary: boundary, Killed: killed}
	row.ChildrenGone = s.childrenGone(t, r)
	row.Cleaned = s.restore(t)
	row.Whole = time.Since(at).Seconds()
	t.Logf("%s: killed while %s; children gone after %.1fs; revert + cleanup: %s; whole %.1fs after the kill", boundary, killed, row.ChildrenGone, row.Cleaned, row.Whole)
	return row
}

// beforeInject: the check has its namespace and is deploying, nothing is
// journalled yet.
func (s *safety) beforeInject(t *testing.T, r *run) string {
	s.waitFor(t, r, "the run's namespace, before any fault", func(ctx context.Context) bool {
		nss, err := s.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: checkNamespaces(r.id)})
		entries, _ := journal.List(r.id)
		return err == nil && len(nss.Items) > 0 && len(entries) == 0
	})
	return "the check was deploying its backends (namespace created, no fault journalled)"
}

// faultActive: the node is stopped and journalled.
func (s *safety) faultActive(t *testing.T, r *run) string {
	e := s.waitEntry(t, r)
	waitContainer(t, e.Spec.Node, "exited")
	return "node " + e.Spec.Node + " stopped (fault journalled and active)"
}

// duringRevert: the check has started the node again but its journal
// entry is still there (it stays until the node is Ready).
func (s *safety) duringRevert(t *testing.T, r *run) string {
	e := s.waitEntry(t, r)
	waitContainer(t, e.Spec.Node, "exited")
	s.waitFor(t, r, "the check to start "+e.Spec.Node+" again (revert under way)", func(context.Context) bool {
		entries, _ := journal.List(r.id)
		return len(entries) == 1 && containerState(t, e.Spec.Node) == "running"
	})
	return "node " + e.Spec.Node + " started again, its journal entry not yet removed (revert under way)"
}

func (s *safety) waitEntry(t *testing.T, r *run) journal.Entry {
	t.Helper()
	var e journal.Entry
	s.waitFor(t, r, "a journalled fault", func(context.Context) bool {
		entries, _ := journal.List(r.id)
		if len(entries) > 0 {
			e = entries[0]
		}
		return len(entries) > 0
	})
	return e
}

// waitFor polls cond every 100 ms for up to 3 minutes; the run ending
// first fails the test with its output.
func (s *safety) waitFor(t *testing.T, r *run, what string, cond func(context.Context) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if cond(ctx) {
			return
		}
		select {
		case err := <-r.done:
			r.done <- err
			t.Fatalf("run %s ended (%v) before %s\n%s", r.id, err, what, r.out.String())
		case <-ctx.Done():
			t.Fatalf("run %s: no %s within 3m\n%s", r.id, what, r.out.String())
		case <-tick.C:
		}
	}
}

// killEverything SIGKILLs the runner, Ginkgo and the spec processes while
// a node is stopped: nothing is left to clean up but the journal and the
// labels, and `chaos list`, `chaos revert` and `cleanup` must do it all.
func (s *safety) killEverything(t *testing.T) {
	r := s.nodeStopRun(t, "sigkill")
	e := s.waitEntry(t, r)
	waitContainer(t, e.Spec.Node, "exited")
	s.waitFor(t, r, "node "+e.Spec.Node+" NotReady", func(ctx context.Context) bool {
		n, err := s.client.CoreV1().Nodes().Get(ctx, e.Spec.Node, metav1.GetOptions{})
		return err == nil && !kube.NodeReady(n)
	})
	if out, err := exec.Command("pkill", "-KILL", "-f", r.dir).CombinedOutput(); err != nil {
		t.Fatalf("pkill: %v %s", err, out)
	}
	<-r.done
	t.Logf("killed every process of the run while %s", e.Describe)
	if left := runProcs(r.dir); len(left) > 0 {
		t.Fatalf("processes left after SIGKILL: %v", left)
	}
	if st := containerState(t, e.Spec.Node); st != "exited" {
		t.Fatalf("after SIGKILL the fault should still be there: node %s is %q", e.Spec.Node, st)
	}
	list, err := exec.Command(kubeproofBin(t), "chaos", "list").CombinedOutput()
	if err != nil || !strings.Contains(string(list), e.Spec.Node) {
		t.Fatalf("chaos list should show the fault on %s: %v\n%s", e.Spec.Node, err, list)
	}
	start := time.Now()
	said := s.restore(t)
	if !strings.Contains(said, "reverted node-stop on "+e.Spec.Node) {
		t.Errorf("chaos revert should have restarted %s: %s", e.Spec.Node, said)
	}
	t.Logf("whole %.1fs after chaos revert + cleanup: %s", time.Since(start).Seconds(), said)
}

// killDuringSweep holds a pod of the run with a finalizer, so that the
// runner, after its checks ended, sits in its sweep waiting for the pod to
// go; the runner is killed there, then the finalizer is let go.
func (s *safety) killDuringSweep(t *testing.T) killRow {
	ctx := context.Background()
	const hold = "kubeproof.io/e2e-hold"
	// A check that lives for seconds (it starts pods), so that the hold is
	// on before the check deletes its namespace.
	r := s.start(t, "sweep-"+time.Now().Format("150405"), "--label-filter", "area:networking", "--focus", "pod-to-pod on the same node")
	var held types.NamespacedName
	s.waitFor(t, r, "a pod of the run's", func(ctx context.Context) bool {
		nss, err := s.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: checkNamespaces(r.id)})
		if err != nil || len(nss.Items) == 0 {
			return false
		}
		for _, ns := range nss.Items {
			pods, err := s.client.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{})
			if err != nil || len(pods.Items) == 0 {
				continue
			}
			held = types.NamespacedName{Namespace: ns.Name, Name: pods.Items[0].Name}
			patch := fmt.Sprintf(`{"metadata":{"finalizers":[%q]}}`, hold)
			if _, err := s.client.CoreV1().Pods(held.Namespace).Patch(ctx, held.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
				t.Fatalf("hold pod %s: %v", held, err)
			}
			return true
		}
		return false
	})
	release := func() {
		_, err := s.client.CoreV1().Pods(held.Namespace).Patch(ctx, held.Name, types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("release pod %s: %v", held, err)
		}
	}
	defer release()
	s.waitFor(t, r, "the runner alone, sweeping the held pod", func(ctx context.Context) bool {
		p, err := s.client.CoreV1().Pods(held.Namespace).Get(ctx, held.Name, metav1.GetOptions{})
		return err == nil && p.DeletionTimestamp != nil && len(runProcs(r.dir)) == 1
	})
	if err := r.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	<-r.done
	release()
	row := killRow{Boundary: "during sweep", Killed: "the checks had ended; the runner was waiting for pod " + held.String() + " to go"}
	row.ChildrenGone = s.childrenGone(t, r)
	row.Cleaned = s.restore(t)
	row.Whole = time.Since(at).Seconds()
	return row
}

// killDuringKindDelete kills a `run --kind` runner as Docker starts
// removing its cluster's nodes: `cleanup` must finish the job.
func (s *safety) killDuringKindDelete(t *testing.T) killRow {
	runID := "kinddel-" + time.Now().Format("150405")
	cluster := "kubeproof-run-" + runID
	events := exec.Command("docker", "events", "--filter", "type=container", "--filter", "label=io.x-k8s.kind.cluster="+cluster,
		"--filter", "event=kill", "--filter", "event=die", "--filter", "event=destroy", "--format", "{{.Action}} {{.Actor.Attributes.name}}")
	pipe, err := events.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := events.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = events.Process.Kill(); _ = events.Wait() }()
	first := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		if sc.Scan() {
			first <- sc.Text()
		}
	}()
	r := s.start(t, runID, "--kind", "--kind-config", "single-node", "--label-filter", "area:nodes")
	var event string
	select {
	case event = <-first:
	case err := <-r.done:
		t.Fatalf("run %s ended (%v) and no node removal was seen\n%s", runID, err, r.out.String())
	case <-time.After(4 * time.Minute):
		t.Fatalf("run %s: its cluster was not being deleted within 4m\n%s", runID, r.out.String())
	}
	row := s.killAndRestoreKind(t, r, cluster, "Docker removing the run's kind cluster "+cluster+" ("+event+")")
	return row
}

func (s *safety) killAndRestoreKind(t *testing.T, r *run, cluster, killed string) killRow {
	if err := r.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	select {
	case err := <-r.done:
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != -1 {
			t.Fatalf("the runner ended before the kill (%v): the boundary was missed\n%s", err, r.out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("runner still there 10s after SIGKILL")
	}
	row := killRow{Boundary: "during kind delete", Killed: killed}
	row.ChildrenGone = s.childrenGone(t, r)
	out, err := exec.Command(kubeproofBin(t), "cleanup", "--run-id", r.id, "--kubeconfig", s.kubeconfig).CombinedOutput()
	if err != nil {
		t.Fatalf("cleanup: %v\n%s", err, out)
	}
	row.Cleaned = summarize(string(out))
	left, err := exec.Command("docker", "ps", "-aq", "--filter", "label=io.x-k8s.kind.cluster="+cluster).Output()
	if err != nil || len(bytes.TrimSpace(left)) > 0 {
		t.Errorf("containers of %s left after cleanup: %v %s", cluster, err, left)
	}
	if _, found, _ := kindstate.Lookup(cluster); found {
		t.Errorf("kubeproof still records cluster %s after cleanup", cluster)
	}
	row.Whole = time.Since(at).Seconds()
	return row
}

// childrenGone waits until no process of the run is left (the runner's
// children notice its death) and returns how long that took.
func (s *safety) childrenGone(t *testing.T, r *run) float64 {
	t.Helper()
	start := time.Now()
	deadline := start.Add(2 * time.Minute)
	for {
		left := runProcs(r.dir)
		if len(left) == 0 {
			return time.Since(start).Seconds()
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes of run %s still alive 2m after its runner was killed: %v", r.id, left)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// runProcs lists the live processes whose command line names dir: the
// runner, ginkgo and the spec processes of one run.
func runProcs(dir string) []string {
	entries, _ := os.ReadDir("/proc")
	var found []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(dir)) || !proc.Alive(pid) {
			continue
		}
		found = append(found, fmt.Sprintf("%d %s", pid, strings.ReplaceAll(string(cmdline), "\x00", " ")))
	}
	return found
}

// restore runs `chaos revert` and `cleanup`, then requires the cluster
// whole: no fault journalled, no kubeproof namespace, no Lease, every node
// running, Ready, schedulable and untainted. It returns what the two
// commands removed.
func (s *safety) restore(t *testing.T) string {
	t.Helper()
	var said []string
	for _, args := range [][]string{{"chaos", "revert"}, {"cleanup", "--kubeconfig", s.kubeconfig}} {
		out, err := exec.Command(kubeproofBin(t), args...).CombinedOutput()
		if err != nil {
			t.Fatalf("kubeproof %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		said = append(said, summarize(string(out)))
	}
	s.requireWhole(t)
	return strings.Join(said, "; ")
}

// summarize keeps what revert or cleanup says it did.
func summarize(out string) string {
	var did []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		for _, verb := range []string{"reverted", "deleted", "removed", "no active faults", "nothing left"} {
			if strings.HasPrefix(line, verb) {
				did = append(did, line)
				break
			}
		}
	}
	return strings.Join(did, ", ")
}

func (s *safety) requireWhole(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if entries, err := journal.List(""); err != nil || len(entries) != 0 {
		t.Errorf("faults still journalled: %v %v", entries, err)
	}
	nss, err := s.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: meta.ManagedSelector("")})
	if err != nil || len(nss.Items) != 0 {
		t.Errorf("kubeproof namespaces left: %v %v", err, names(nss))
	}
	if _, err := s.client.CoordinationV1().Leases(clusterlock.Namespace).Get(ctx, clusterlock.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the cluster's Lease is still there (%v)", err)
	}
	var last string
	err = wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		nodes, err := s.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		for _, n := range nodes.Items {
			if why := unwell(t, &n); why != "" {
				last = n.Name + ": " + why
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("cluster not whole within 2m of revert + cleanup: %s", last)
	}
}

func unwell(t *testing.T, n *corev1.Node) string {
	if st := containerState(t, n.Name); st != "running" {
		return "container " + st
	}
	if !kube.NodeReady(n) {
		return "not Ready"
	}
	if n.Spec.Unschedulable {
		return "cordoned"
	}
	for _, taint := range n.Spec.Taints {
		if taint.Key == corev1.TaintNodeUnreachable || taint.Key == corev1.TaintNodeNotReady {
			return "tainted " + taint.Key
		}
	}
	return ""
}

func names(nss *corev1.NamespaceList) []string {
	if nss == nil {
		return nil
	}
	var out []string
	for _, ns := range nss.Items {
		out = append(out, ns.Name)
	}
	return out
}

// outputClosed closes the reading end of a run's output once its checks
// start, as `kubeproof run | head` does: the run must not die of the
// broken pipe, but finish, write its results and leave nothing running
// and no Lease.
func (s *safety) outputClosed(t *testing.T) {
	runID := "closed-output-" + time.Now().Format("150405")
	dir := filepath.Join(t.TempDir(), runID)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(kubeproofBin(t), "run", "--run-id", runID, "--output-dir", dir, "--kubeconfig", s.kubeconfig, "--profile", "quick")
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	var said []string
	lines := bufio.NewScanner(pr)
	for lines.Scan() {
		said = append(said, lines.Text())
		if strings.HasPrefix(lines.Text(), "running ") {
			break
		}
	}
	pr.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		t.Fatalf("run %s with its output closed: want it ended within 10m, still running; it said %q", runID, said)
	}
	if ws := cmd.ProcessState.Sys().(syscall.WaitStatus); ws.Signaled() {
		t.Fatalf("run %s: want it to finish after its output was closed, got it killed by %v; it said %q", runID, ws.Signal(), said)
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("run %s with its output closed: want exit 0 (quick profile passed), got %d; it said %q", runID, code, said)
	}
	run, err := results.Load(filepath.Join(dir, "results.json"))
	if err != nil || run.Summary.Passed == 0 || run.Summary.Failed != 0 {
		t.Fatalf("run %s with its output closed: want results.json with passed checks only, got %+v (%v)", runID, run, err)
	}
	ctx := context.Background()
	if _, err := s.client.CoordinationV1().Leases(clusterlock.Namespace).Get(ctx, clusterlock.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("run %s ended: want the cluster's Lease released, got %v", runID, err)
	}
	nss, err := s.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: meta.LabelRunID + "=" + runID})
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range nss.Items {
		pods, err := s.client.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{})
		if ns.DeletionTimestamp == nil || err != nil || len(pods.Items) > 0 {
			t.Errorf("run %s ended: want its namespace %s deleted with no pod left, got deletion %v, %d pods (%v)", runID, ns.Name, ns.DeletionTimestamp, len(pods.Items), err)
		}
	}
	t.Logf("run %s finished with its output closed after %q: %d checks passed", runID, strings.Join(said, " | "), run.Summary.Passed)
	s.restore(t)
}

// twoRunsAtOnce starts two runs in the same second: one gets the cluster,
// the other is refused with exit 4 naming it, before creating anything.
// While the first runs, a `chaos inject` is refused too, and never more
// than one node is faulted.
func (s *safety) twoRunsAtOnce(t *testing.T) {
	ctx := context.Background()
	stamp := time.Now().Format("150405")
	a := s.start(t, "same-a-"+stamp, "--profile", "certification", "--label-filter", "chaos:node-stop")
	b := s.start(t, "same-b-"+stamp, "--profile", "certification", "--label-filter", "chaos:node-stop")
	started := time.Now()
	var loser, winner *run
	var loserErr error
	select {
	case err := <-a.done:
		loser, winner, loserErr = a, b, err
	case err := <-b.done:
		loser, winner, loserErr = b, a, err
	case <-time.After(30 * time.Second):
		t.Fatalf("both runs still going 30s after starting in the same second: one must be refused\nA:\n%s\nB:\n%s", a.out.String(), b.out.String())
	}
	var exit *exec.ExitError
	if !errors.As(loserErr, &exit) || exit.ExitCode() != 4 {
		t.Fatalf("run %s: want exit 4 (cluster in use), got %v\n%s", loser.id, loserErr, loser.out.String())
	}
	if !strings.Contains(loser.out.String(), "run "+winner.id) {
		t.Errorf("run %s's refusal must name run %s: %s", loser.id, winner.id, loser.out.String())
	}
	t.Logf("run %s refused %.1fs after the start: %s", loser.id, time.Since(started).Seconds(), lastLine(loser.out.String()))

	// Under the winner's Lease: a manual fault is refused too.
	var nodeName string
	nodes, err := s.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes.Items {
		if strings.HasSuffix(n.Name, "-worker") {
			nodeName = n.Name
		}
	}
	inject := exec.Command(kubeproofBin(t), "chaos", "inject", "drain", "--node", nodeName, "--kubeconfig", s.kubeconfig)
	out, err := inject.CombinedOutput()
	if !errors.As(err, &exit) || exit.ExitCode() != 4 || !strings.Contains(string(out), "run "+winner.id) {
		t.Errorf("chaos inject under run %s: want exit 4 naming it, got %v: %s", winner.id, err, out)
	}

	// Until the winner ends: at most one fault, nothing of the loser's.
	most := 0
	for {
		select {
		case err := <-winner.done:
			if err != nil {
				t.Fatalf("run %s: want exit 0, got %v\n%s", winner.id, err, winner.out.String())
			}
			if entries, _ := journal.List(loser.id); len(entries) != 0 {
				t.Errorf("refused run %s journalled faults: %v", loser.id, entries)
			}
			t.Logf("run %s passed alone; at most %d fault active at a time", winner.id, most)
			requireSwept(t, s.client, winner.id)
			s.requireWhole(t)
			return
		case <-time.After(200 * time.Millisecond):
		}
		entries, _ := journal.List("")
		if len(entries) > most {
			most = len(entries)
		}
		if most > 1 {
			t.Fatalf("%d faults active at once: %v", most, entries)
		}
		nss, err := s.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: meta.LabelRunID + "=" + loser.id})
		if err == nil && len(nss.Items) > 0 {
			t.Fatalf("refused run %s created namespaces: %v", loser.id, names(nss))
		}
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// wrongCluster journals a drain on this cluster (A), then makes the
// kubeconfig entry the fault was injected through point at cluster B:
// `chaos revert` must refuse, name A, and leave A's node cordoned;
// pointing the kubeconfig back lets it revert.
func (s *safety) wrongCluster(t *testing.T) {
	ctx := context.Background()
	const other = "kubeproof-e2e-other"
	b := kindClusterFor(t, other, "single-node")

	original, err := os.ReadFile(s.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, original, 0o600); err != nil {
		t.Fatal(err)
	}
	const node = "kubeproof-e2e-safety-worker"
	out, err := exec.Command(kubeproofBin(t), "chaos", "inject", "drain", "--node", node, "--kubeconfig", kubeconfig, "--run-id", "wrong-cluster").CombinedOutput()
	if err != nil {
		t.Fatalf("chaos inject drain: %v\n%s", err, out)
	}
	// The same kubeconfig entry (kind-kubeproof-e2e-safety) now reaches B,
	// as after a cluster was replaced under the same name.
	otherConfig, err := os.ReadFile(b.KubeconfigPath)
	if err != nil {
		t.Fatal(err)
	}
	switched := strings.ReplaceAll(string(otherConfig), "kind-"+other, "kind-kubeproof-e2e-safety")
	if err := os.WriteFile(kubeconfig, []byte(switched), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(kubeproofBin(t), "chaos", "revert").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("chaos revert with the kubeconfig on another cluster: want exit 2, got %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "belongs to kind-kubeproof-e2e-safety") {
		t.Errorf("the refusal must name the fault's cluster: %s", out)
	}
	t.Logf("refused: %s", lastLine(string(out)))
	n, err := s.client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil || !n.Spec.Unschedulable {
		t.Errorf("node %s of cluster A must still be cordoned after the refused revert: %v", node, err)
	}
	if entries, _ := journal.List("wrong-cluster"); len(entries) != 1 {
		t.Errorf("the refused revert must keep the journal entry, got %v", entries)
	}
	if err := os.WriteFile(kubeconfig, original, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(kubeproofBin(t), "chaos", "revert").CombinedOutput(); err != nil {
		t.Fatalf("chaos revert with the kubeconfig back on A: %v\n%s", err, out)
	}
	s.requireWhole(t)
}

// syncBuffer is a bytes.Buffer safe for a process's writes and the test's
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
