//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubeproof/kubeproof/cluster/kindcluster"
	"github.com/kubeproof/kubeproof/reporters/upgrade"
)

// TestUpgradeRehearsal rehearses v1.34 -> v1.35 on a kind cluster made for
// it, offline: both profile runs pass, no object or datum is lost, web's
// probes (a PodDisruptionBudget held) lose no request, the watch misses no
// event, the API server's outage while it restarts is measured, every
// step ends with the kubelets within the skew policy, and the one-replica
// Deployment without a PodDisruptionBudget shows downtime, named: with a
// budget of 0 for it the rehearsal exits 1 on that line. Versions the
// policy forbids are refused with exit 2 before any cluster exists.
func TestUpgradeRehearsal(t *testing.T) {
	before, err := kindcluster.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct{ to, want string }{
		{"v1.36.1", "skips a minor version: Kubernetes is upgraded one minor version at a time"},
		{"v1.33.0", "is a downgrade"},
	} {
		code, out := rehearse(t, t.TempDir(), "--to", bad.to)
		if code != 2 || !strings.Contains(lastLine(out), bad.want) {
			t.Errorf("--to %s: want exit 2 saying %q, got exit %d: %q", bad.to, bad.want, code, out)
		}
	}
	if after, _ := kindcluster.List(); len(after) != len(before) {
		t.Errorf("refused rehearsals created clusters: before %v, after %v", before, after)
	}

	dir := t.TempDir()
	if a := os.Getenv("ARTIFACTS"); a != "" {
		dir = filepath.Join(a, "upgrade-rehearsal")
	}
	start := time.Now()
	code, out := rehearse(t, dir, "--profile", "quick", "--max-downtime", "clusterip/single=0s")
	t.Logf("rehearsal took %s", time.Since(start).Round(time.Second))
	r, err := upgrade.Load(filepath.Join(dir, "upgrade.json"))
	if err != nil {
		t.Fatalf("upgrade.json: %v (exit %d)", err, code)
	}
	if code != 1 || !strings.HasPrefix(lastLine(out), "kubeproof: probe clusterip/single: want at most 0.0s of downtime") {
		t.Errorf("want exit 1 naming the control's downtime, got exit %d: %q", code, lastLine(out))
	}
	if len(r.Findings) != 1 || r.Findings[0].Kind != "downtime" {
		t.Errorf("want one finding, the control's downtime, got %+v", r.Findings)
	}
	for _, side := range []upgrade.ProfileRun{r.Before, r.After} {
		if side.Failed != 0 || side.Passed == 0 || side.Error != "" {
			t.Errorf("profile run in %s: want passed, got %+v", side.Dir, side)
		}
	}
	if !strings.HasPrefix(r.Before.Version, "v1.34.") || !strings.HasPrefix(r.After.Version, "v1.35.") {
		t.Errorf("want the profile before on v1.34 and after on v1.35, got %s and %s", r.Before.Version, r.After.Version)
	}
	for _, o := range r.Objects {
		if o.Changed != "" || strings.Contains(o.After, "unreadable") {
			t.Errorf("object %s/%s %s: before %q, after %q", o.Kind, o.Name, o.Changed, o.Before, o.After)
		}
	}
	var names []string
	for _, s := range r.Steps {
		names = append(names, s.Name)
		if s.Error != "" {
			t.Errorf("step %s on %s failed: %s", s.Name, s.Node, s.Error)
		}
		if strings.Contains(s.Skew, "unreachable") {
			t.Errorf("step %s: skew not checked: %s", s.Name, s.Skew)
		}
	}
	for _, want := range []string{"kubeadm upgrade plan", "kubeadm upgrade apply", "cordon and drain", "kubeadm upgrade node", "kubelet and kubectl to v1.35.4", "uncordon"} {
		if !slices.Contains(names, want) {
			t.Errorf("no step %q among %v", want, names)
		}
	}
	if last := r.Steps[len(r.Steps)-1].Skew; strings.Count(last, "v1.35.4") != 4 {
		t.Errorf("after the last step want the API server and 3 kubelets at v1.35.4, got %s", last)
	}
	probes := map[string]upgrade.Probe{}
	for _, p := range r.Probes {
		probes[p.Name] = p
		t.Logf("probe %-28s %5d requests, %4d failed, longest outage %.1fs %v", p.Name, p.Requests, p.Failed, p.LongestOutageSeconds, p.Errors)
	}
	for _, name := range []string{"clusterip/web", "nodeport/web", "watch"} {
		if p := probes[name]; p.Requests < 600 || p.Failed != 0 || !p.WithinBudget {
			t.Errorf("probe %s: want 0 failed of at least 600 requests, got %d of %d (%v)", name, p.Failed, p.Requests, p.Errors)
		}
	}
	for _, name := range []string{"apiserver/new-connections", "apiserver/reused-connection"} {
		if p := probes[name]; p.LongestOutageSeconds <= 0 || p.BudgetSeconds != nil {
			t.Errorf("probe %s: want the API server's restart measured as an outage, not judged; got %.1fs, budget %v", name, p.LongestOutageSeconds, p.BudgetSeconds)
		}
	}
	if p := probes["clusterip/single"]; p.Failed == 0 || p.WithinBudget {
		t.Errorf("the control without a PodDisruptionBudget: want failed requests over its 0s budget, got %d failed", p.Failed)
	}
	for _, f := range []string{"upgrade.html", "diff.md", "before/results.json", "after/results.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	if clusters, _ := kindcluster.List(); slices.Contains(clusters, r.Cluster) {
		t.Errorf("cluster %s left behind", r.Cluster)
	}
}

func rehearse(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	return kubeproofCLI(t, append([]string{"upgrade", "rehearse", "--output-dir", dir}, args...)...)
}
