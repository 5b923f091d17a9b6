//go:build e2e

package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubeproof/kubeproof/chaos/journal"
	"github.com/kubeproof/kubeproof/cluster/kindcluster"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/nodeimage"
	"github.com/kubeproof/kubeproof/reporters/results"
)

// TestChaosScenarios runs the node-stop, kubelet-stop, kubelet-freeze (the
// privileged-pod path for clusters that are not kind), network-partition and drain scenarios on a
// fast-recovery cluster that `kubeproof run --kind` creates and deletes,
// and records each scenario's phase timings.
func TestChaosScenarios(t *testing.T) {
	t.Setenv("KUBEPROOF_JOURNAL_DIR", t.TempDir())
	code, run, _ := kubeproofRun(t, "--kind", "--kind-config", "fast-recovery", "--profile", "certification",
		"--allow-privileged-pods", "--label-filter", "chaos:node-stop || chaos:kubelet-stop || chaos:network-partition || chaos:kubelet-freeze || chaos:drain")
	if code != 0 {
		t.Fatalf("want exit 0, got %d", code)
	}
	phases := map[string]map[string]float64{}
	for _, c := range run.Checks {
		if c.Area != "resilience" || (c.Verdict == results.Skipped && strings.HasPrefix(c.Reason, "not selected")) {
			continue
		}
		if c.Verdict != results.Passed {
			t.Errorf("%s: %s %s", c.Name, c.Verdict, c.Reason)
		}
		if len(c.Targets) != 1 {
			t.Errorf("%s: want the target node recorded, got %v", c.Name, c.Targets)
		}
		phases[c.Name] = map[string]float64{"duration": c.Seconds}
		for _, m := range c.Measurements {
			phases[c.Name][m.Name] = m.Value
		}
	}
	if len(phases) != 5 {
		t.Fatalf("want 5 scenarios, got %v", phases)
	}
	for name, p := range phases {
		if _, ok := p["phase: replacements Ready on healthy nodes"]; !ok {
			t.Errorf("%s: no replacement phase recorded: %v", name, p)
		}
	}
	t.Logf("phase timings: %v", phases)
	writeArtifact(t, "chaos-phase-timings.json", phases)
	if entries, _ := journal.List(""); len(entries) != 0 {
		t.Errorf("faults left in the journal: %v", entries)
	}
}

// TestChaosRevertAfterSIGKILL kills the runner and its spec processes with
// SIGKILL while a node is stopped, then shows that `kubeproof chaos revert`
// restores the cluster and `kubeproof cleanup` removes the run's objects.
func TestChaosRevertAfterSIGKILL(t *testing.T) {
	journalDir := t.TempDir()
	t.Setenv("KUBEPROOF_JOURNAL_DIR", journalDir)
	ctx := context.Background()
	image, err := nodeimage.Build(ctx, nodeimage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const name = "kubeproof-e2e-sigkill"
	if err := kindcluster.Delete(name, ""); err != nil {
		t.Fatal(err)
	}
	cl, err := kindcluster.Create(ctx, kindcluster.CreateOptions{Name: name, Image: image, Config: "fast-recovery"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kindcluster.Delete(name, "") })
	client, err := kube.NewClient(cl.KubeconfigPath, "")
	if err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(t.TempDir(), "sigkill-run")
	runner := exec.Command(kubeproofBin(t), "run", "--kubeconfig", cl.KubeconfigPath, "--profile", "certification",
		"--label-filter", "chaos:node-stop", "--output-dir", out)
	if err := runner.Start(); err != nil {
		t.Fatal(err)
	}
	var entry journal.Entry
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 3*time.Minute, true, func(context.Context) (bool, error) {
		entries, _ := journal.List("")
		if len(entries) > 0 {
			entry = entries[0]
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		_ = runner.Process.Kill()
		t.Fatalf("no fault was journalled within 3m")
	}
	// Let the fault really happen, then kill every process of the run
	// (runner, ginkgo, spec processes): they all name the output dir.
	waitContainer(t, entry.Spec.Node, "exited")
	err = wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		n, err := client.CoreV1().Nodes().Get(ctx, entry.Spec.Node, metav1.GetOptions{})
		return err == nil && !kube.NodeReady(n), nil
	})
	if err != nil {
		t.Fatalf("node %s still Ready 2m after it was stopped", entry.Spec.Node)
	}
	if b, err := exec.Command("pkill", "-KILL", "-f", out).CombinedOutput(); err != nil {
		t.Fatalf("pkill: %v %s", err, b)
	}
	_ = runner.Wait()
	t.Logf("killed the run while %s", entry.Describe)

	if st := containerState(t, entry.Spec.Node); st != "exited" {
		t.Fatalf("after SIGKILL the fault should still be there: node %s is %q", entry.Spec.Node, st)
	}
	list, err := exec.Command(kubeproofBin(t), "chaos", "list").CombinedOutput()
	if err != nil || !strings.Contains(string(list), entry.Spec.Node) {
		t.Fatalf("chaos list should show the fault on %s: %v\n%s", entry.Spec.Node, err, list)
	}
	start := time.Now()
	if b, err := exec.Command(kubeproofBin(t), "chaos", "revert").CombinedOutput(); err != nil {
		t.Fatalf("chaos revert: %v\n%s", err, b)
	}
	waitContainer(t, entry.Spec.Node, "running")
	err = wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		n, err := client.CoreV1().Nodes().Get(ctx, entry.Spec.Node, metav1.GetOptions{})
		if err != nil || !kube.NodeReady(n) || n.Spec.Unschedulable {
			return false, nil
		}
		for _, taint := range n.Spec.Taints {
			if taint.Key == corev1.TaintNodeUnreachable || taint.Key == corev1.TaintNodeNotReady {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("node %s not Ready and untainted within 2m of chaos revert", entry.Spec.Node)
	}
	t.Logf("node %s Ready %.1fs after chaos revert", entry.Spec.Node, time.Since(start).Seconds())
	if entries, _ := journal.List(""); len(entries) != 0 {
		t.Errorf("journal not empty after revert: %v", entries)
	}
	if b, err := exec.Command(kubeproofBin(t), "cleanup", "--kubeconfig", cl.KubeconfigPath).CombinedOutput(); err != nil {
		t.Errorf("cleanup: %v\n%s", err, b)
	}
	nss, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=kubeproof"})
	if err != nil || len(nss.Items) != 0 {
		t.Errorf("namespaces left after cleanup: %v %v", err, nss)
	}
	t.Run("runner killed alone: the checks clean up after themselves", func(t *testing.T) { orphanedChecksCleanUp(t, cl.KubeconfigPath) })
}

// orphanedChecksCleanUp SIGKILLs only the runner while its check has a node
// stopped: the spec process notices the runner is gone, interrupts itself
// and its cleanups start the node and delete the namespace, with no
// `chaos revert` or `cleanup` run by anyone.
func orphanedChecksCleanUp(t *testing.T, kubeconfig string) {
	ctx := context.Background()
	client, err := kube.NewClient(kubeconfig, "")
	if err != nil {
		t.Fatal(err)
	}
	runID := "orphan-" + time.Now().Format("150405")
	runner := exec.Command(kubeproofBin(t), "run", "--kubeconfig", kubeconfig, "--profile", "certification",
		"--label-filter", "chaos:node-stop", "--run-id", runID, "--output-dir", filepath.Join(t.TempDir(), "orphan-run"))
	if err := runner.Start(); err != nil {
		t.Fatal(err)
	}
	var entry journal.Entry
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 3*time.Minute, true, func(context.Context) (bool, error) {
		entries, _ := journal.List(runID)
		if len(entries) > 0 {
			entry = entries[0]
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		_ = runner.Process.Kill()
		t.Fatalf("no fault was journalled within 3m")
	}
	waitContainer(t, entry.Spec.Node, "exited")
	if err := runner.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = runner.Wait()
	killed := time.Now()
	selector := metav1.ListOptions{LabelSelector: "kubeproof.io/run-id=" + runID}
	err = wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		entries, _ := journal.List(runID)
		nss, err := client.CoreV1().Namespaces().List(ctx, selector)
		return len(entries) == 0 && err == nil && len(nss.Items) == 0 && containerState(t, entry.Spec.Node) == "running", nil
	})
	if err != nil {
		entries, _ := journal.List(runID)
		t.Fatalf("3m after the runner was killed: journal %v, node %s %s; want the checks to have reverted their fault and deleted their namespace", entries, entry.Spec.Node, containerState(t, entry.Spec.Node))
	}
	t.Logf("fault reverted and namespace gone %.1fs after the runner was killed, with no one running chaos revert or cleanup", time.Since(killed).Seconds())
	// The cluster is deleted with the test; its node must be whole anyway.
	err = wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		n, err := client.CoreV1().Nodes().Get(ctx, entry.Spec.Node, metav1.GetOptions{})
		return err == nil && kube.NodeReady(n), nil
	})
	if err != nil {
		t.Errorf("node %s not Ready within 2m of the orphaned checks' revert", entry.Spec.Node)
	}
}

func containerState(t *testing.T, name string) string {
	out, err := exec.Command("docker", "inspect", "--format", "{{.State.Status}}", name).Output()
	if err != nil {
		t.Fatalf("inspect %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

func waitContainer(t *testing.T, name, state string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for containerState(t, name) != state {
		if time.Now().After(deadline) {
			t.Fatalf("container %s not %s within 1m", name, state)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
