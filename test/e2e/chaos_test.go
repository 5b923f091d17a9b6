//go:build e2e

package e2e

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubeproof/kubeproof/chaos/journal"
	"github.com/kubeproof/kubeproof/reporters/results"
)

// TestChaosScenarios runs the node-stop, kubelet-stop, kubelet-freeze (the
// privileged-pod path for clusters that are not kind), network-partition and drain scenarios on a
// fast-recovery cluster that `kubeproof run --kind` creates and deletes,
// and records each scenario's phase timings; then the control-plane
// outages (kube-scheduler, kube-controller-manager and kube-apiserver
// stopped and started), with --allow-control-plane.
func TestChaosScenarios(t *testing.T) {
	t.Setenv("KUBEPROOF_JOURNAL_DIR", t.TempDir())
	code, run, _ := kubeproofRun(t, "--kind", "--kind-config", "fast-recovery", "--profile", "certification",
		"--allow-privileged-pods", "--allow-control-plane", "--label-filter", "chaos:node-stop || chaos:kubelet-stop || chaos:network-partition || chaos:kubelet-freeze || chaos:drain || chaos:component-stop")
	if code != 0 {
		t.Fatalf("want exit 0, got %d", code)
	}
	phases := map[string]map[string]float64{}
	outages := 0
	for _, c := range run.Checks {
		if c.Area == "control-plane" && slices.Contains(c.Labels, "chaos:component-stop") {
			outages++
			if c.Verdict != results.Passed || len(c.Targets) != 1 {
				t.Errorf("%s: want passed, its control-plane node recorded, got %s %s (targets %v)", c.Name, c.Verdict, c.Reason, c.Targets)
			}
			t.Logf("%s: %v", c.Name, c.Measurements)
			continue
		}
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
	if len(phases) != 5 || outages != 3 {
		t.Fatalf("want 5 node scenarios and 3 control-plane outages, got %v and %d", phases, outages)
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
