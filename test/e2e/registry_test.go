//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/internal/paths"
	"github.com/kubeproof/kubeproof/reporters/results"
)

// The CNCF Distribution registry, built from the Go module proxy once per
// version and kept in kubeproof's cache.
const distribution = "github.com/distribution/distribution/v3/cmd/registry@v3.1.2"

// managedCluster makes the shared cluster behave like a managed,
// locked-down one and runs kubeproof there as on a cluster it did not
// create: the workload image is pushed with `kubeproof image push` to a
// Distribution registry on this machine (plain HTTP) from which the
// nodes' containerd pulls; Pod Security "restricted" is enforced
// cluster-wide by the API server's admission configuration; the run is
// told the cluster is not kind (--no-kind-detection), so nothing is
// side-loaded. Given the image by tag, the core profile resolves it to the
// digest the push printed, its pods pull it, every check passes but the
// host-network one, which is not checked with the policy's message; the
// certification profile drains a node and reports the faults that need
// Docker not checked. A tag the registry lacks ends the run at once, and
// a digest it lacks ends it at the image start, exit 3, naming the image.
func managedCluster(t *testing.T, kubeconfig, cluster string) {
	nodes := kindNodes(t, cluster)
	c, err := kube.NewClient(kubeconfig, "")
	if err != nil {
		t.Fatal(err)
	}
	reg := startRegistry(t, nodes[0])
	pullFrom(t, nodes, reg)
	enforceRestricted(t, c, cluster+"-control-plane")
	// The runs act as ServiceAccounts bound to the printed roles, under a
	// context that does not say kind.
	core := serviceAccountKubeconfig(t, c, "core", "core", nil)

	ref := reg + "/kubeproof/workload:e2e"
	out, err := exec.Command(kubeproofBin(t), "image", "push", ref, "--insecure").CombinedOutput()
	t.Logf("kubeproof image push %s --insecure:\n%s", ref, out)
	if err != nil {
		t.Fatalf("image push: %v", err)
	}
	pushed := strings.Fields(string(out))[0]
	if !strings.HasPrefix(pushed, reg+"/kubeproof/workload@sha256:") || !strings.Contains(string(out), "linux/amd64, linux/arm64") {
		t.Fatalf("image push: want REPO@sha256:... (linux/amd64, linux/arm64), got %q", out)
	}

	start := time.Now()
	code, run, _ := kubeproofRun(t, "--kubeconfig", core, "--no-kind-detection", "--workload-image", ref, "--insecure-registry", "--profile", "core")
	t.Logf("core profile, managed and locked down: exit %d after %.0fs: %d passed, %d failed, %d not checked, %d refused (403)", code, time.Since(start).Seconds(), run.Summary.Passed, run.Summary.Failed, run.Summary.Skipped, run.Summary.Refused)
	if run.Summary.Refused != 0 {
		t.Errorf("core profile with the core role: want 0 requests refused for want of permission, got %d: runner %v; checks %v", run.Summary.Refused, run.Refused, refusedChecks(run))
	}
	for _, ch := range run.Checks {
		switch {
		case ch.Verdict == results.Skipped && ch.Reason == results.NotSelected:
		case strings.HasPrefix(ch.Name, "node-to-pod and pod-to-node"):
			if err := hostNetworkNotChecked(ch.Reason); ch.Verdict != results.Skipped || err != nil {
				t.Errorf("check %q under Pod Security restricted: want not checked, got %s: %v", ch.Name, ch.Verdict, err)
			}
			t.Logf("%s: %s: %s", ch.Name, ch.Verdict, ch.Reason)
		case strings.HasPrefix(ch.Name, "a StatefulSet's pod keeps its claim"):
			// Its init container runs as root, which restricted refuses.
			const want = "not checked: the cluster refuses a pod whose init container runs as root"
			if ch.Verdict != results.Skipped || !strings.HasPrefix(ch.Reason, want) || !strings.Contains(ch.Reason, "violates PodSecurity") {
				t.Errorf("check %q under Pod Security restricted: want not checked (%s ... violates PodSecurity ...), got %s: %s", ch.Name, want, ch.Verdict, ch.Reason)
			}
			t.Logf("%s: %s: %s", ch.Name, ch.Verdict, ch.Reason)
		case ch.Verdict != results.Passed:
			t.Errorf("check %q on a healthy, locked-down cluster: want passed, got %s: %s", ch.Name, ch.Verdict, ch.Reason)
		}
	}
	if code != 0 || run.Summary.Passed < 25 {
		t.Fatalf("want exit 0 and the core checks passed (25+), got exit %d, %d passed", code, run.Summary.Passed)
	}
	if run.Cluster.WorkloadImage != pushed {
		t.Errorf("results: want the workload image recorded by the digest the push printed, %s, got %q", pushed, run.Cluster.WorkloadImage)
	}
	// The pods ran what the nodes pulled from the registry, not a side-load.
	pulled := 0
	for _, n := range nodes {
		out, _ := exec.Command("docker", "exec", n, "ctr", "-n", "k8s.io", "images", "ls", "-q", "name=="+pushed).Output()
		if strings.TrimSpace(string(out)) == pushed {
			pulled++
		}
	}
	if pulled == 0 {
		t.Errorf("no node holds %s: the pods did not pull it", pushed)
	}

	start = time.Now()
	missing := reg + "/kubeproof/workload:missing"
	code, _, said := kubeproofRun(t, "--kubeconfig", core, "--no-kind-detection", "--workload-image", missing, "--insecure-registry", "--profile", "quick")
	lines := strings.Split(strings.TrimSpace(said), "\n")
	if code != 3 || len(lines) != 1 || !strings.Contains(lines[0], missing) || time.Since(start) > 30*time.Second {
		t.Errorf("a tag the registry lacks: want exit 3 within seconds and one line naming %s, got exit %d after %.1fs: %q", missing, code, time.Since(start).Seconds(), said)
	}

	// A digest is taken as given, so the nodes are the first to ask for
	// it: the image start before any check sees the pull fail.
	start = time.Now()
	absent := reg + "/kubeproof/workload@sha256:" + strings.Repeat("0", 64)
	code, _, said = kubeproofRun(t, "--kubeconfig", core, "--no-kind-detection", "--workload-image", absent, "--profile", "quick")
	lines = strings.Split(strings.TrimSpace(said), "\n")
	if code != 3 || len(lines) != 1 || !strings.Contains(lines[0], absent+" cannot start on node "+cluster) || !strings.Contains(lines[0], "ErrImagePull") || time.Since(start) > 45*time.Second {
		t.Errorf("a digest the registry lacks: want exit 3 within seconds and one line naming %s, a node and ErrImagePull, got exit %d after %.1fs: %q", absent, code, time.Since(start).Seconds(), said)
	}
	t.Logf("a digest the registry lacks, after %.1fs: %s", time.Since(start).Seconds(), strings.TrimSpace(said))

	// The core role minus one verb: the run ends before it creates
	// anything, naming the verb.
	lacking := serviceAccountKubeconfig(t, c, "no-pod-patch", "core", withoutVerb("pods", "patch"))
	start = time.Now()
	code, _, said = kubeproofRun(t, "--kubeconfig", lacking, "--no-kind-detection", "--workload-image", pushed, "--profile", "core")
	lines = strings.Split(strings.TrimSpace(said), "\n")
	if code != 3 || len(lines) != 1 || !strings.Contains(lines[0], "patch pods") || time.Since(start) > 30*time.Second {
		t.Errorf("the core role without patch on pods: want exit 3 within seconds and one line naming \"patch pods\", got exit %d after %.1fs: %q", code, time.Since(start).Seconds(), said)
	}
	t.Logf("the core role without patch on pods, after %.2fs: %s", time.Since(start).Seconds(), strings.TrimSpace(said))

	// Disruptive checks with consent, as the certification role: drain
	// runs, the faults that act on node containers through Docker are not
	// checked, and say why.
	certification := serviceAccountKubeconfig(t, c, "certification", "certification", nil)
	start = time.Now()
	code, run, _ = kubeproofRun(t, "--kubeconfig", certification, "--no-kind-detection", "--workload-image", pushed,
		"--profile", "certification", "--allow-disruptive", "--label-filter", "area:resilience")
	t.Logf("certification profile, resilience only: exit %d after %.0fs: %d passed, %d failed, %d not checked, %d refused (403)", code, time.Since(start).Seconds(), run.Summary.Passed, run.Summary.Failed, run.Summary.Skipped, run.Summary.Refused)
	if run.Summary.Refused != 0 {
		t.Errorf("certification with the certification role: want 0 requests refused for want of permission, got %d: runner %v; checks %v", run.Summary.Refused, run.Refused, refusedChecks(run))
	}
	for _, ch := range run.Checks {
		switch fault, _, _ := strings.Cut(ch.Name, ":"); fault {
		case "drain", "pod-kill":
			if ch.Verdict != results.Passed {
				t.Errorf("check %q: want passed, got %s: %s", ch.Name, ch.Verdict, ch.Reason)
			}
		case "node-stop", "kubelet-stop", "node-pause", "network-partition":
			if ch.Verdict != results.Skipped || !strings.Contains(ch.Reason, "not a kind cluster") {
				t.Errorf("check %q on a cluster taken as not kind: want not checked, \"not a kind cluster\", got %s: %s", ch.Name, ch.Verdict, ch.Reason)
			}
		}
	}
	if code != 0 || run.Summary.Passed == 0 {
		t.Errorf("certification, resilience only, on a cluster taken as not kind: want exit 0 with drain passed, got exit %d, %d passed", code, run.Summary.Passed)
	}
	// Last: the suite's pods, without controllers, would stop a drain
	// until their namespace is gone.
	conformanceFromRegistry(t, kubeconfig, reg, nodes)
	e2eNamespacesGone(t, kubeconfig)
}

// startRegistry runs a Distribution registry on this machine for the rest
// of the test, on the address the nodes reach this machine by (their
// default gateway, the Docker network's), and returns that HOST:PORT.
func startRegistry(t *testing.T, node string) string {
	t.Helper()
	route, err := exec.Command("docker", "exec", node, "ip", "-4", "route", "show", "default").Output()
	f := strings.Fields(string(route))
	if err != nil || len(f) < 3 || f[0] != "default" || f[1] != "via" {
		t.Fatalf("the default route of node %s: %q (%v)", node, route, err)
	}
	l, err := net.Listen("tcp", f[2]+":0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(cfg, []byte("version: 0.1\nlog:\n  level: warn\nstorage:\n  inmemory: {}\nhttp:\n  addr: "+addr+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(registryBinary(t), "serve", cfg)
	log, err := os.Create(filepath.Join(t.TempDir(), "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil, nil
	}); err != nil {
		b, _ := os.ReadFile(log.Name())
		t.Fatalf("registry on %s did not listen within 30s: %s", addr, b)
	}
	return addr
}

// pullFrom makes each node's containerd pull from the registry over plain
// HTTP; the running containers outlive the restart.
func pullFrom(t *testing.T, nodes []string, reg string) {
	t.Helper()
	mirror := fmt.Sprintf("\n[plugins.\"io.containerd.grpc.v1.cri\".registry.mirrors.%q]\n  endpoint = [\"http://%s\"]\n", reg, reg)
	for _, n := range nodes {
		script := fmt.Sprintf("printf '%%s' '%s' >> /etc/containerd/config.toml && systemctl restart containerd", mirror)
		if out, err := exec.Command("docker", "exec", n, "sh", "-c", script).CombinedOutput(); err != nil {
			t.Fatalf("point containerd on %s at %s: %v: %s", n, reg, err, out)
		}
	}
	for _, n := range nodes {
		if err := wait.PollUntilContextTimeout(context.Background(), 500*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
			return exec.Command("docker", "exec", n, "ctr", "version").Run() == nil, nil
		}); err != nil {
			t.Fatalf("containerd on %s did not come back within 1m of its restart", n)
		}
	}
}

// registryBinary builds the Distribution registry once per version.
func registryBinary(t *testing.T) string {
	t.Helper()
	version := distribution[strings.LastIndex(distribution, "@")+1:]
	bin := filepath.Join(paths.CacheDir(), "tools", "registry-"+version)
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	gobin := t.TempDir()
	cmd := exec.Command("go", "install", distribution)
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the Distribution registry (%s): %v: %s", distribution, err, out)
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(gobin, "registry"), bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

// kindNodes lists the node containers of a kind cluster.
func kindNodes(t *testing.T, cluster string) []string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "--filter", "label=io.x-k8s.kind.cluster="+cluster, "--format", "{{.Names}}").Output()
	if err != nil {
		t.Fatal(err)
	}
	nodes := strings.Fields(string(out))
	if len(nodes) == 0 {
		t.Fatalf("kind cluster %s has no nodes", cluster)
	}
	return nodes
}

// refusedChecks lists the refusals each check saw.
func refusedChecks(run *results.Run) map[string][]string {
	out := map[string][]string{}
	for _, c := range run.Checks {
		if len(c.Refused) > 0 {
			out[c.Name] = c.Refused
		}
	}
	return out
}

// conformanceFromRegistry runs a conformance spec on the cluster as one
// that pulls: the images built here are pushed to the registry and the
// suite pointed at them (KUBE_TEST_REPO_LIST), so a node must pull
// busybox from there (the side-loaded copies have other names).
func conformanceFromRegistry(t *testing.T, kubeconfig, reg string, nodes []string) {
	dir := t.TempDir()
	code, out := kubeproofCLI(t, "conformance", "run", "--kubeconfig", kubeconfig, "--no-kind-detection", "--registry", reg+"/k8s", "--insecure-registry",
		"--focus", "Kubelet when scheduling a busybox command in a pod should print the output to logs", "--output-dir", dir)
	if code != 0 || !strings.Contains(out, "1 passed, 0 failed of 1 conformance specs") {
		t.Errorf("conformance from a registry: want the busybox spec passed, got exit %d: %s", code, out)
	}
	busybox := reg + "/k8s/e2e-test-images/busybox:1.37.0-1"
	pulled := 0
	for _, n := range nodes {
		got, _ := exec.Command("docker", "exec", n, "ctr", "-n", "k8s.io", "images", "ls", "-q", "name=="+busybox).Output()
		if strings.TrimSpace(string(got)) == busybox {
			pulled++
		}
	}
	if pulled == 0 {
		t.Errorf("no node holds %s: the spec's pod did not pull it from the registry", busybox)
	}
	if list, err := os.ReadFile(filepath.Join(dir, "repo-list.yaml")); err != nil || !strings.Contains(string(list), "promoterE2eRegistry: "+reg+"/k8s/e2e-test-images") {
		t.Errorf("repo-list.yaml: want the e2e images' registry moved to %s/k8s, got %q (%v)", reg, list, err)
	}
}
