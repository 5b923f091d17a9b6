//go:build e2e

package e2e

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/reporters/results"
)

// TestSelfHealingFailsWithoutControllerManager freezes
// kube-controller-manager once the self-healing spec's ReplicaSet serves
// through its Service: the deleted pod is never replaced, and the check
// must fail saying so.
//
// On the same cluster, a frozen kube-scheduler ends a run at the image
// start, before any check, within seconds.
func TestSelfHealingFailsWithoutControllerManager(t *testing.T) {
	const cluster = "kubeproof-e2e-nokcm"
	kubeconfig := testCluster(t, cluster)
	c, err := kube.NewClient(kubeconfig, "")
	if err != nil {
		t.Fatal(err)
	}
	controlPlane := cluster + "-control-plane"
	t.Run("kube-controller-manager frozen: no replacement pod", func(t *testing.T) { withoutControllerManager(t, c, kubeconfig, controlPlane) })
	t.Run("kube-scheduler frozen: the run ends before any check", func(t *testing.T) { withoutScheduler(t, kubeconfig, controlPlane) })
}

// withoutScheduler: no scheduler acts on the image start's pods, and the
// run ends with exit 3 and one line saying so, naming a node, long before
// any check would have waited out its pod start.
func withoutScheduler(t *testing.T, kubeconfig, controlPlane string) {
	if b, err := exec.Command("docker", "exec", controlPlane, "pkill", "-STOP", "-f", "^kube-scheduler ").CombinedOutput(); err != nil {
		t.Fatalf("freeze kube-scheduler: %v %s", err, b)
	}
	t.Cleanup(func() {
		_ = exec.Command("docker", "exec", controlPlane, "pkill", "-CONT", "-f", "^kube-scheduler ").Run()
	})
	start := time.Now()
	code, _, said := kubeproofRun(t, "--kubeconfig", kubeconfig, "--profile", "quick")
	took := time.Since(start)
	lines := strings.Split(strings.TrimSpace(said), "\n")
	last := lines[len(lines)-1]
	if code != 3 || !strings.Contains(last, "cannot start on node kubeproof-e2e-nokcm-") || !strings.Contains(last, "no scheduler has acted on it") || took > time.Minute {
		t.Fatalf("kube-scheduler frozen: want exit 3 within a minute, one line naming a node and \"no scheduler has acted on it\", got exit %d after %.1fs: %q", code, took.Seconds(), said)
	}
	if strings.Contains(said, "running ") {
		t.Errorf("kube-scheduler frozen: want no check started, got %q", said)
	}
	t.Logf("ended after %.1fs: %s", took.Seconds(), last)
}

func withoutControllerManager(t *testing.T, c *kube.Client, kubeconfig, controlPlane string) {
	t.Cleanup(func() {
		_ = exec.Command("docker", "exec", controlPlane, "pkill", "-CONT", "-f", "^kube-controller-manager ").Run()
	})

	runID := "nokcm-" + time.Now().Format("150405")
	out := filepath.Join(t.TempDir(), "run")
	cmd := exec.Command(kubeproofBin(t), "run", "--kubeconfig", kubeconfig, "--run-id", runID, "--output-dir", out,
		"--label-filter", "area:workloads", "--focus", "deleted pods are replaced")
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// pkill -x cannot match names over 15 characters: match the command line.
	// The moment the Service has all three pods as ready endpoints, the
	// spec is about to delete one: freeze the controller manager then.
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		// The spec's own namespace: the run also has one for the pods its
		// checks share.
		nss, err := c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: "kubeproof.io/run-id=" + runID + ",kubeproof.io/spec=replicasets"})
		if err != nil || len(nss.Items) == 0 {
			return false, nil
		}
		slices, err := c.DiscoveryV1().EndpointSlices(nss.Items[0].Name).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=web"})
		if err != nil {
			return false, nil
		}
		ready := 0
		for _, s := range slices.Items {
			for _, e := range s.Endpoints {
				if e.Conditions.Ready != nil && *e.Conditions.Ready {
					ready++
				}
			}
		}
		return ready == 3, nil
	})
	if err != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("the spec's Service never had 3 ready endpoints: %v\n%s", err, log.String())
	}
	if b, err := exec.Command("docker", "exec", controlPlane, "pkill", "-STOP", "-f", "^kube-controller-manager ").CombinedOutput(); err != nil {
		t.Fatalf("freeze kube-controller-manager: %v %s", err, b)
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("want exit 1, got %v\n%s", err, log.String())
	}
	run, err := results.Load(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	ch := findPrefix(run, "deleted pods are replaced")
	if ch == nil || ch.Verdict != results.Failed || !strings.Contains(ch.Reason, "no replacement pod was created within 60s") {
		t.Fatalf("want the self-healing check failed with \"no replacement pod was created within 60s\", got %+v", ch)
	}
	t.Logf("failed as expected: %s", ch.Reason)
}
