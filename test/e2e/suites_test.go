//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/e2e-framework/klient/decoder"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"

	"github.com/kubeproof/kubeproof/fixtures/meta"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/reporters/results"
)

const coreSuites = "area:nodes || area:networking || area:services"

// TestSuitesPass runs the networking and services suites on a healthy
// cluster sequentially, then those and the workloads suite in parallel,
// and records the durations.
func TestSuitesPass(t *testing.T) {
	kubeconfig := kindClusterFor(t, "kubeproof-e2e-suites", "testdata/suites-cluster.yaml").KubeconfigPath
	durations := map[string]float64{}
	for _, pass := range []struct{ procs, filter string }{
		{"1", coreSuites},
		{"2", coreSuites + " || area:workloads"},
	} {
		procs := pass.procs
		start := time.Now()
		code, run, _ := kubeproofRun(t, "--kubeconfig", kubeconfig, "--label-filter", pass.filter, "--procs", procs)
		durations["procs="+procs] = time.Since(start).Seconds()
		if code != 0 || run.Summary.Failed != 0 {
			for _, c := range run.Checks {
				if c.Verdict == results.Failed {
					t.Errorf("check %q failed on a healthy cluster: %s", c.Name, c.Reason)
				}
			}
			t.Fatalf("want exit 0, got %d", code)
		}
		if run.Summary.Passed < 15 {
			t.Errorf("want the selected checks to run (15+), %d passed", run.Summary.Passed)
		}
		perArea := map[string]float64{}
		for _, c := range run.Checks {
			perArea[c.Area] += c.Seconds
		}
		for a, s := range perArea {
			durations[fmt.Sprintf("procs=%s %s spec-seconds", procs, a)] = s
		}
	}
	t.Logf("suite durations: %v", durations)
	writeArtifact(t, "suite-durations.json", durations)
	t.Run("interrupt removes what the run created", func(t *testing.T) { interruptRun(t, kubeconfig) })
	t.Run("pre-upgrade names what would stop the upgrade", func(t *testing.T) { preUpgrade(t, kubeconfig, "kubeproof-e2e-suites") })
	t.Run("upstream conformance specs, offline", func(t *testing.T) { conformance(t, kubeconfig) })
	// Leaves the cluster locked down (Pod Security restricted everywhere).
	t.Run("a managed cluster, simulated", func(t *testing.T) { managedCluster(t, kubeconfig, "kubeproof-e2e-suites") })
	// Last: it leaves a node dead, and the cluster goes with the test.
	t.Run("a dead node fails the run, named", func(t *testing.T) { deadNodeFails(t, kubeconfig, "kubeproof-e2e-suites-worker2") })
}

// deadNodeFails stops a worker's kubelet and waits until the control plane
// marks the node NotReady: the nodes check and every check that runs on
// every node must fail naming it, never pass by leaving it out.
func deadNodeFails(t *testing.T, kubeconfig, node string) {
	c, err := kube.NewClient(kubeconfig, "")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("docker", "exec", node, "systemctl", "stop", "kubelet").CombinedOutput(); err != nil {
		t.Fatalf("stop kubelet on %s: %v: %s", node, err, out)
	}
	start := time.Now()
	// node-monitor-grace-period is 50 s by default; twice that and more.
	err = wait.PollUntilContextTimeout(context.Background(), time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		n, err := c.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		return err == nil && !kube.NodeReady(n), nil
	})
	if err != nil {
		t.Fatalf("node %s still Ready 3 minutes after its kubelet stopped: %v", node, err)
	}
	t.Logf("node %s NotReady %.0fs after its kubelet stopped", node, time.Since(start).Seconds())
	code, run, _ := kubeproofRun(t, "--kubeconfig", kubeconfig, "--profile", "quick", "--label-filter", "area:nodes || area:networking")
	if code != 1 {
		t.Errorf("want exit 1 (checks failed) with node %s dead, got %d", node, code)
	}
	for _, name := range []string{"every node Ready", "pod-to-pod on the same node", "pod-to-pod across every pair of nodes"} {
		ch := findPrefix(run, name)
		if ch == nil || ch.Verdict != results.Failed || !strings.Contains(ch.Reason, node) {
			t.Errorf("check %q: want failed naming %s, got %+v", name, node, ch)
			continue
		}
		t.Logf("%s: %s", ch.Name, ch.Reason)
	}
}

// interruptRun sends SIGINT to `kubeproof run` while specs have objects in
// the cluster: it must exit 130 and leave none of them behind.
func interruptRun(t *testing.T, kubeconfig string) {
	c, err := kube.NewClient(kubeconfig, "")
	if err != nil {
		t.Fatal(err)
	}
	runID := "interrupt-" + time.Now().Format("150405")
	cmd := exec.Command(kubeproofBin(t), "run", "--kubeconfig", kubeconfig, "--run-id", runID,
		"--output-dir", t.TempDir(), "--label-filter", "area:workloads")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	selector := metav1.ListOptions{LabelSelector: checkNamespaces(runID)}
	err = wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := c.CoreV1().Pods("").List(ctx, selector)
		return err == nil && len(pods.Items) >= 2, nil
	})
	if err != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("the run never created pods: %v\n%s", err, out.String())
	}
	start := time.Now()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Errorf("want exit 130 after SIGINT, got %v\n%s", err, out.String())
	}
	t.Logf("run stopped %.1fs after SIGINT", time.Since(start).Seconds())
	requireSwept(t, c, runID)
}

// requireSwept: when a run has ended, each of its namespaces is
// terminating with no pod left in it, and the namespace controller
// removes them within its grace period (5 s) and a little work.
func requireSwept(t *testing.T, c *kube.Client, runID string) {
	t.Helper()
	ctx := context.Background()
	nss, err := c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: meta.LabelRunID + "=" + runID})
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range nss.Items {
		pods, err := c.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{})
		if ns.DeletionTimestamp == nil || err != nil || len(pods.Items) != 0 {
			t.Errorf("run %s ended: want namespace %s terminating with no pod, got deletion %v, pods %v (%v)", runID, ns.Name, ns.DeletionTimestamp, len(pods.Items), err)
		}
	}
	const within = time.Minute
	start := time.Now()
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, within, true, func(ctx context.Context) (bool, error) {
		nss, err = c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: meta.LabelRunID + "=" + runID})
		return err == nil && len(nss.Items) == 0, nil
	})
	if err != nil {
		t.Errorf("run %s ended: want its namespaces gone within %s, got %s", runID, within, names(nss))
	}
	t.Logf("the run's namespaces were gone %.1fs after it ended", time.Since(start).Seconds())
}

// TestServicesFailWithoutKubeProxy first takes kube-proxy off one worker
// and flushes its Service rules there: the ClusterIP and DNS checks, run
// from a client on every node, must fail naming that node. Then it removes
// kube-proxy: Services built after that are never programmed, so the
// service checks must fail while pod networking keeps passing.
func TestServicesFailWithoutKubeProxy(t *testing.T) {
	kubeconfig := testCluster(t, "kubeproof-e2e-noproxy")
	c, err := kube.NewClient(kubeconfig, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("one node without Service rules is named", func(t *testing.T) { oneNodeWithoutServiceRules(t, c, kubeconfig, "kubeproof-e2e-noproxy-worker2") })
	if err := c.AppsV1().DaemonSets("kube-system").Delete(context.Background(), "kube-proxy", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	code, run, _ := kubeproofRun(t, "--kubeconfig", kubeconfig, "--label-filter", coreSuites)
	if code != 1 {
		t.Fatalf("want exit 1 (checks failed), got %d", code)
	}
	for _, name := range []string{"ClusterIP reached by IP and by DNS name", "NodePort reached on every node", "session affinity ClientIP", "hairpin", "multi-port Service", "Service without ready endpoints rejects fast"} {
		if ch := findPrefix(run, name); ch == nil || ch.Verdict != results.Failed {
			t.Errorf("check %q: want failed without kube-proxy, got %+v", name, ch)
		}
	}
	for _, ch := range run.Checks {
		if ch.Area == "networking" && ch.Verdict != results.Passed {
			t.Errorf("networking check %q: want passed (pod networking does not need kube-proxy), got %s: %s", ch.Name, ch.Verdict, ch.Reason)
		}
	}
}

// oneNodeWithoutServiceRules keeps kube-proxy off node and flushes its
// KUBE-SERVICES chain: Services work from every node but that one.
func oneNodeWithoutServiceRules(t *testing.T, c *kube.Client, kubeconfig, node string) {
	ctx := context.Background()
	affinity := fmt.Sprintf(`{"spec":{"template":{"spec":{"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"kubernetes.io/hostname","operator":"NotIn","values":[%q]}]}]}}}}}}}`, node)
	if _, err := c.AppsV1().DaemonSets("kube-system").Patch(ctx, "kube-proxy", types.StrategicMergePatchType, []byte(affinity), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := c.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=kube-proxy", FieldSelector: "spec.nodeName=" + node})
		return err == nil && len(pods.Items) == 0, nil
	})
	if err != nil {
		t.Fatalf("kube-proxy still on %s 2m after excluding it", node)
	}
	if out, err := exec.Command("docker", "exec", node, "iptables", "-t", "nat", "-F", "KUBE-SERVICES").CombinedOutput(); err != nil {
		t.Fatalf("flush KUBE-SERVICES on %s: %v: %s", node, err, out)
	}
	// Only the checks judged here: every other Service check would fail
	// too, each after its full wait.
	code, run, _ := kubeproofRun(t, "--kubeconfig", kubeconfig, "--label-filter", "area:services || area:networking",
		"--focus", "ClusterIP reached by IP|Service A records|pod-to-pod")
	if code != 1 {
		t.Errorf("want exit 1 with no Service rules on %s, got %d", node, code)
	}
	for _, name := range []string{"ClusterIP reached by IP and by DNS name", "Service A records"} {
		ch := findPrefix(run, name)
		if ch == nil || ch.Verdict != results.Failed || !strings.Contains(ch.Reason, node) {
			t.Errorf("check %q: want failed naming %s, got %+v", name, node, ch)
			continue
		}
		t.Logf("%s: %s", ch.Name, ch.Reason)
	}
	for _, name := range []string{"pod-to-pod on the same node", "pod-to-pod across every pair of nodes"} {
		if ch := findPrefix(run, name); ch == nil || ch.Verdict != results.Passed {
			t.Errorf("check %q: want passed (pod networking does not need kube-proxy), got %+v", name, ch)
		}
	}
	// Back as it was: kube-proxy on every node, node's rules rewritten.
	if _, err := c.AppsV1().DaemonSets("kube-system").Patch(ctx, "kube-proxy", types.StrategicMergePatchType, []byte(`{"spec":{"template":{"spec":{"affinity":null}}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		out, err := exec.Command("docker", "exec", node, "iptables", "-t", "nat", "-S", "KUBE-SERVICES").Output()
		return err == nil && strings.Contains(string(out), "kube-dns"), nil
	})
	if err != nil {
		t.Fatalf("kube-proxy did not rewrite the Service rules on %s within 2m", node)
	}
}

// TestCrossNodeFailsWithoutRoute removes, on one worker, the routes to the
// other nodes' pods (after stopping the agent that would restore them): the
// cross-node checks must fail and name that node; same-node traffic passes.
//
// Its cluster also serves MutatingAdmissionPolicy: a policy that breaks
// the API's contracts for kubeproof's own objects must fail the API
// checks of the control-plane area, each for what was broken.
func TestCrossNodeFailsWithoutRoute(t *testing.T) {
	kubeconfig := kindClusterFor(t, "kubeproof-e2e-noroute", "testdata/policy-cluster.yaml").KubeconfigPath
	c, err := kube.NewClient(kubeconfig, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.AppsV1().DaemonSets("kube-system").Delete(ctx, "kubeproof-net", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	const broken = "kubeproof-e2e-noroute-worker2"
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes.Items {
		if n.Name == broken {
			continue
		}
		for _, cidr := range n.Spec.PodCIDRs {
			if out, err := exec.Command("docker", "exec", broken, "ip", "route", "del", cidr).CombinedOutput(); err != nil {
				t.Fatalf("remove route %s on %s: %v: %s", cidr, broken, err, out)
			}
		}
	}
	code, run, _ := kubeproofRun(t, "--kubeconfig", kubeconfig, "--label-filter", "area:networking")
	if code != 1 {
		t.Fatalf("want exit 1, got %d", code)
	}
	cross := findPrefix(run, "pod-to-pod across every pair of nodes")
	if cross == nil || cross.Verdict != results.Failed || !strings.Contains(cross.Reason, broken) {
		t.Errorf("cross-node check: want failed naming %s, got %+v", broken, cross)
	}
	if same := findPrefix(run, "pod-to-pod on the same node"); same == nil || same.Verdict != results.Passed {
		t.Errorf("same-node check: want passed, got %+v", same)
	}
	t.Run("a mutating policy breaks the API's and the pods' contracts", func(t *testing.T) { contractsBroken(t, c, kubeconfig) })
	// Last: the API server goes away 90 s later (the kubelet restarts it).
	t.Run("the API server shutting down fails the health check", func(t *testing.T) { apiServerShuttingDown(t, c, kubeconfig, "kubeproof-e2e-noroute-control-plane") })
}

// apiServerShuttingDown tells the API server to stop: with the cluster's
// --shutdown-delay-duration of 90s it keeps serving while /readyz fails
// its "shutdown" check, which the health check must name.
func apiServerShuttingDown(t *testing.T, c *kube.Client, kubeconfig, controlPlane string) {
	if b, err := exec.Command("docker", "exec", controlPlane, "pkill", "-TERM", "-f", "^kube-apiserver ").CombinedOutput(); err != nil {
		t.Fatalf("stop kube-apiserver: %v %s", err, b)
	}
	var last string
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		_, body, err := c.GetPath(ctx, "/readyz", map[string]string{"verbose": ""})
		last = fmt.Sprintf("%s (%v)", body, err)
		return strings.Contains(last, "[-]shutdown"), nil
	})
	if err != nil {
		t.Fatalf("kube-apiserver told to stop: want /readyz to fail its shutdown check within 20s, got %q", last)
	}
	code, run, _ := kubeproofRun(t, "--kubeconfig", kubeconfig, "--label-filter", "area:control-plane", "--focus", "/livez and /readyz")
	if code != 1 {
		t.Errorf("want exit 1 (check failed), got %d", code)
	}
	const want = "/readyz (HTTP 500): [-]shutdown failed: reason withheld"
	ch := findPrefix(run, "the API server passes every individual check")
	if ch == nil || ch.Verdict != results.Failed || !strings.Contains(ch.Reason, want) {
		t.Fatalf("health check: want failed with %q, got %+v", want, ch)
	}
	t.Logf("%s: %s", ch.Name, ch.Reason)
}

// brokenChecks are the control-plane checks of the API's contracts, the
// pods checks and the ConfigMap volumes' check, each with what its reason must say when
// testdata/break-policy.yaml is in force.
var brokenChecks = map[string]string{
	"a watch sees every change once, in order, and resumes after a cut":                             "MODIFIED burst-03 (step tampered), want MODIFIED burst-03 (step update)",
	"a stale update is refused with 409 Conflict":                                                   "want 409 Conflict and value \"second\" kept, got success and value \"stale\"",
	"server-side apply records field managers and refuses conflicting applies":                      "kubeproof-rival applies data.shared, forced: want data.shared \"b\" managed by kubeproof-rival alone",
	"a finalizer holds deletion until removed":                                                      "deleted while it carried finalizer kubeproof.io/hold (set when created): want it kept, marked for deletion, until the finalizer is removed, got it gone at once",
	"containers of a pod share localhost and an emptyDir, after their init containers ran in order": "want container workload to list in emptyDir /shared init-1's marker (it saw nothing) and init-2's (it saw init-1's), got HTTP 404",
	"probes: liveness restarts, readiness only unlists, startup holds both":                         "/probed: want its container restarted within 30s of its liveness probe failing (period 1s, threshold 1, grace 1s), got not Ready, container running (restarts 0)",
	"a Job completes through its sidecar, which starts first and stops last":                        "want Complete within 2m0s, got Failed: BackoffLimitExceeded",
	"the downward API gives a pod its own fields and resources":                                     `status.podIP (env DOWNWARD_POD_IP): want "`,
	"a deleted pod's preStop hook runs before SIGTERM, and its grace period bounds the stop":        "want its preStop hook (GET /prestop) called before SIGTERM, got no preStop call",
	"a Job's retries count against its backoffLimit":                                                "container fails once, then succeeds): want Complete within 2m0s, got Failed: BackoffLimitExceeded",
	"an updated ConfigMap or Secret reaches its volume, not a subPath mount":                        `want ConfigMap settings and Secret credentials, both updated from "v1" to "v2", to read "v2" in their volumes /config and /secret within 2m0s (the kubelet's default sync period of 1m, its jitter and 30s), got /config/value "v1", /secret/value "v2", /pinned/value "v1" (the API stored ConfigMap settings "v1", Secret credentials "v2")`,
	"a StatefulSet's pod keeps its claim and data through a restart and its deletion":               "with claim data-db-0: want the token the first pod wrote to /data, ",
	"a container's resources reach its cgroup, and its memory limit OOM-kills":                      "allocating 256 MiB: want its container OOM-killed (reason OOMKilled, exit 137) part way, got terminated: Completed (exit 0) after allocating 256 MiB (resources in its spec: requests memory 48Mi, limits none)",
}

// contractsBroken puts mutating admission policies in force that, like a
// misbehaving webhook, drop finalizers, drop the resourceVersion of
// updates and rewrite fields of kubeproof's ConfigMaps, and rewrite its
// pods (a volume mount, a liveness probe, a sidecar, a preStop hook
// dropped, a Job's container made to fail every time, a memory limit dropped): each of
// those checks must fail, saying what it saw.
func contractsBroken(t *testing.T, c *kube.Client, kubeconfig string) {
	ctx := context.Background()
	res, err := resources.New(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := os.ReadFile("testdata/break-policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decoder.DecodeAll(ctx, bytes.NewReader(manifest))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if err := res.Create(ctx, o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
		t.Cleanup(func() {
			if err := res.Delete(context.Background(), o); err != nil {
				t.Errorf("delete %T %s: %v", o, o.GetName(), err)
			}
		})
	}
	// The API server loads policies from an informer: in force once a
	// dry-run create in a namespace it selects loses its finalizer.
	probe := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kubeproof-e2e-policy-probe", Labels: map[string]string{meta.LabelManagedBy: meta.ManagedBy}}}
	if _, err := c.CoreV1().Namespaces().Create(ctx, probe, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.CoreV1().Namespaces().Delete(context.Background(), probe.Name, metav1.DeleteOptions{}) })
	var last error
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		cm, err := c.CoreV1().ConfigMaps(probe.Name).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "held", Finalizers: []string{meta.FinalizerHold}}},
			metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		last = err
		return err == nil && len(cm.Finalizers) == 0, nil
	})
	if err != nil {
		t.Fatalf("policy kubeproof-e2e-break-api not in force within 30s: a dry-run ConfigMap still keeps its finalizer (%v)", last)
	}
	var names []string
	for name := range brokenChecks {
		names = append(names, regexp.QuoteMeta(name))
	}
	// Certification: the ConfigMap check is in no other profile.
	code, run, _ := kubeproofRun(t, "--kubeconfig", kubeconfig, "--profile", "certification", "--label-filter", "area:control-plane || area:pods || area:storage", "--focus", strings.Join(names, "|"))
	if code != 1 {
		t.Errorf("want exit 1 (checks failed), got %d", code)
	}
	for name, reason := range brokenChecks {
		ch := checkByName(run, name)
		if ch == nil || ch.Verdict != results.Failed || !strings.Contains(ch.Reason, reason) {
			t.Errorf("check %q: want failed with %q, got %+v", name, reason, ch)
			continue
		}
		t.Logf("%s: %s", ch.Name, ch.Reason)
	}
}

func findPrefix(run *results.Run, prefix string) *results.Check {
	for i := range run.Checks {
		if strings.HasPrefix(run.Checks[i].Name, prefix) {
			return &run.Checks[i]
		}
	}
	return nil
}
