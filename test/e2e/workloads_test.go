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
func TestSelfHealingFailsWithoutControllerManager(t *testing.T) {
	const cluster = "kubeproof-e2e-nokcm"
	kubeconfig := testCluster(t, cluster)
	c, err := kube.NewClient(kubeconfig, "")
	if err != nil {
		t.Fatal(err)
	}
	controlPlane := cluster + "-control-plane"
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
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
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
