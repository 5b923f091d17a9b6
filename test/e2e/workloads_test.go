//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"

	"github.com/kubeproof/kubeproof/chaos/journal"
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
	t.Run("kube-controller-manager frozen: garbage collection and its Lease fail", func(t *testing.T) { controlPlaneWithoutControllerManager(t, c, kubeconfig, controlPlane) })
	// The same cluster, whole again: its default StorageClass unmarked.
	t.Run("no default StorageClass: the claim checks are not checked, saying so; ConfigMap and Secret volumes still update", func(t *testing.T) { withoutDefaultStorageClass(t, c, kubeconfig) })
	t.Run("kube-scheduler's kubeconfig broken on disk: the API server's restart check fails naming its Lease", func(t *testing.T) { brokenOnRestart(t, c, kubeconfig, controlPlane) })
	t.Run("kube-proxy newer than the API server: the version check fails naming it", func(t *testing.T) { proxyAhead(t, c, kubeconfig) })
	// Last: the real kube-scheduler, racing the rogue one to bind the
	// same pods, may be left with an inconsistent cache.
	t.Run("a second kube-scheduler and kube-controller-manager without leader election: the outage checks fail", func(t *testing.T) { rogueControlPlane(t, kubeconfig, controlPlane) })
}

// brokenOnRestart breaks kube-scheduler's kubeconfig on disk while it
// runs, as a botched credential rotation would: the running scheduler
// read it at its start and goes on. The API server's restart makes it
// lose its leadership and exit; started again, it cannot read its
// kubeconfig. The restart check must fail naming its Lease, and only it.
func brokenOnRestart(t *testing.T, c *kube.Client, kubeconfig, controlPlane string) {
	t.Setenv("KUBEPROOF_JOURNAL_DIR", t.TempDir())
	// The scheduler runs and leads before its file breaks.
	schedulerLeads(t, c, time.Now(), 2*time.Minute)
	// Written in place: the file is bind-mounted into the scheduler's
	// container, which sees the same inode.
	const conf = "/etc/kubernetes/scheduler.conf"
	if b, err := exec.Command("docker", "exec", controlPlane, "sh", "-c", "cp "+conf+" /root/scheduler.conf.e2e && echo 'broken: [' > "+conf).CombinedOutput(); err != nil {
		t.Fatalf("break %s: %v %s", conf, err, b)
	}
	t.Cleanup(func() {
		restored := time.Now()
		if b, err := exec.Command("docker", "exec", controlPlane, "sh", "-c", "cat /root/scheduler.conf.e2e > "+conf).CombinedOutput(); err != nil {
			t.Errorf("restore %s: %v %s", conf, err, b)
			return
		}
		// The next subtest needs a scheduler: the kubelet starts it again
		// after its crash-loop back-off (at most 5m).
		schedulerLeads(t, c, restored, 6*time.Minute)
	})
	code, run, _ := kubeproofRun(t, "--kubeconfig", kubeconfig, "--profile", "certification", "--allow-control-plane", "--label-filter", "chaos:component-stop",
		"--focus", "kube-apiserver stopped")
	if code != 1 {
		t.Fatalf("kube-scheduler's kubeconfig broken: want exit 1 (checks failed), got %d", code)
	}
	ch := findPrefix(run, "kube-apiserver stopped")
	if ch == nil || ch.Verdict != results.Failed || !strings.Contains(ch.Reason, "want the leader Leases renewed") ||
		!strings.Contains(ch.Reason, "Lease kube-system/kube-scheduler last renewed") || strings.Contains(ch.Reason, "kube-controller-manager last renewed") {
		t.Fatalf("want the API server's restart check failed naming kube-scheduler's Lease alone, got %+v", ch)
	}
	t.Logf("failed as expected: %s", ch.Reason)
	if entries, _ := journal.List(""); len(entries) != 0 {
		t.Errorf("faults left in the journal: %v", entries)
	}
}

// rogueControlPlane runs a second kube-scheduler and a second
// kube-controller-manager as static pods beside the real ones, with
// leader election off, as a botched HA migration might leave them: they
// act whether or not they lead. The outage checks stop the real ones,
// and each must fail saying that something else did the stopped
// component's work.
func rogueControlPlane(t *testing.T, kubeconfig, controlPlane string) {
	t.Setenv("KUBEPROOF_JOURNAL_DIR", t.TempDir())
	rogue(t, controlPlane, "kube-scheduler", 10259, 10269)
	rogue(t, controlPlane, "kube-controller-manager", 10257, 10267)
	code, run, _ := kubeproofRun(t, "--kubeconfig", kubeconfig, "--profile", "certification", "--allow-control-plane", "--label-filter", "chaos:component-stop",
		"--focus", "kube-scheduler stopped|kube-controller-manager stopped")
	if code != 1 {
		t.Fatalf("rogue control plane: want exit 1 (checks failed), got %d", code)
	}
	for prefix, want := range map[string]string{
		"kube-scheduler stopped":          "got it bound to node " + controlPlane[:len(controlPlane)-len("control-plane")],
		"kube-controller-manager stopped": "got replacement kept-",
	} {
		ch := findPrefix(run, prefix)
		switch {
		case ch == nil:
			t.Errorf("want the check %q in the results", prefix)
		case ch.Verdict != results.Failed || !strings.Contains(ch.Reason, want) || !strings.Contains(ch.Reason, "while "+strings.Fields(prefix)[0]+" is stopped on "+controlPlane):
			t.Errorf("%s: want failed, saying %q while it was stopped on %s, got %s: %s", prefix, want, controlPlane, ch.Verdict, ch.Reason)
		default:
			t.Logf("failed as expected: %s", ch.Reason)
		}
	}
	if entries, _ := journal.List(""); len(entries) != 0 {
		t.Errorf("faults left in the journal: %v", entries)
	}
}

// rogue copies the component's static pod manifest on the node as
// rogue-<component>, with leader election off and its own port, and
// waits until it runs; the test's cleanup removes it.
func rogue(t *testing.T, node, component string, port, rport int) {
	t.Helper()
	name := "rogue-" + component
	script := fmt.Sprintf(`set -e
m=/etc/kubernetes/manifests
sed -e 's/^  name: %[1]s$/  name: %[2]s/' -e 's/component: %[1]s$/component: %[2]s/' \
    -e 's/- --leader-elect=true/- --leader-elect=false\n    - --secure-port=%[4]d/' -e 's/containerPort: %[3]d/containerPort: %[4]d/' \
    $m/%[1]s.yaml > /tmp/%[2]s.yaml
grep -q -- --secure-port=%[4]d /tmp/%[2]s.yaml
mv /tmp/%[2]s.yaml $m/%[2]s.yaml`, component, name, port, rport)
	if b, err := exec.Command("docker", "exec", node, "sh", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("start %s: %v %s", name, err, b)
	}
	running := func() bool {
		return exec.Command("docker", "exec", node, "pgrep", "-f", "^"+component+" .*--secure-port="+fmt.Sprint(rport)).Run() == nil
	}
	t.Cleanup(func() {
		if b, err := exec.Command("docker", "exec", node, "rm", "-f", "/etc/kubernetes/manifests/"+name+".yaml").CombinedOutput(); err != nil {
			t.Errorf("remove %s: %v %s", name, err, b)
		}
		for deadline := time.Now().Add(2 * time.Minute); running(); time.Sleep(250 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Errorf("%s still runs 2m after its manifest was removed", name)
				return
			}
		}
	})
	for deadline := time.Now().Add(2 * time.Minute); !running(); time.Sleep(250 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not running 2m after its manifest was written", name)
		}
	}
}

// withoutDefaultStorageClass unmarks the cluster's default StorageClass:
// each storage check of claims must be not checked with the reason, none
// passed nor failed, while the rest of the run passes. The run is of the
// certification profile, so that it includes the ConfigMap and Secret
// volumes' check, which needs no class and must pass (its only healthy
// run in the tests: it waits out a kubelet sync period, about a minute).
func withoutDefaultStorageClass(t *testing.T, c *kube.Client, kubeconfig string) {
	ctx := context.Background()
	const class, annotation = "standard", "storageclass.kubernetes.io/is-default-class"
	patch := func(v string) error {
		_, err := c.StorageV1().StorageClasses().Patch(ctx, class, types.MergePatchType, []byte(fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, annotation, v)), metav1.PatchOptions{})
		return err
	}
	if err := patch("false"); err != nil {
		t.Fatalf("unmark StorageClass %s: %v", class, err)
	}
	t.Cleanup(func() {
		if err := patch("true"); err != nil {
			t.Errorf("mark StorageClass %s default again: %v", class, err)
		}
	})
	code, run, _ := kubeproofRun(t, "--kubeconfig", kubeconfig, "--profile", "certification", "--label-filter", "area:storage || area:nodes")
	if code != 0 {
		t.Fatalf("no default StorageClass: want exit 0 (storage not checked, nodes passed), got %d", code)
	}
	storage := 0
	for _, ch := range run.Checks {
		if ch.Area != "storage" {
			continue
		}
		storage++
		if strings.HasPrefix(ch.Name, "an updated ConfigMap or Secret") {
			if ch.Verdict != results.Passed {
				t.Errorf("storage check %q (needs no class): want passed, got %s: %s", ch.Name, ch.Verdict, ch.Reason)
			}
			continue
		}
		if ch.Verdict != results.Skipped || !strings.HasPrefix(ch.Reason, "not checked: the cluster has no default StorageClass (classes: standard)") {
			t.Errorf("storage check %q: want not checked, the cluster having no default StorageClass, got %s: %s", ch.Name, ch.Verdict, ch.Reason)
		}
	}
	if storage != 5 {
		t.Errorf("want the 5 storage checks in the results, got %d", storage)
	}
	if o := run.Outcome(); !strings.Contains(o.Why, "4 selected checks were not checked") {
		t.Errorf("verdict: want it to say the 4 storage checks of claims were not checked, got %s (%s)", o.Word, o.Why)
	}
}

// controlPlaneWithoutControllerManager freezes kube-controller-manager
// for a whole run of the control-plane checks: the garbage collector
// deletes nothing, and its leader Lease is not renewed. Each check must
// fail saying so, naming the objects. The test stands in for the
// controller manager's ServiceAccount controller alone, so the run can
// start its pods at all (the API server refuses pods in a namespace
// without its "default" ServiceAccount).
func controlPlaneWithoutControllerManager(t *testing.T, c *kube.Client, kubeconfig, controlPlane string) {
	if b, err := exec.Command("docker", "exec", controlPlane, "pkill", "-STOP", "-f", "^kube-controller-manager ").CombinedOutput(); err != nil {
		t.Fatalf("freeze kube-controller-manager: %v %s", err, b)
	}
	t.Cleanup(func() {
		_ = exec.Command("docker", "exec", controlPlane, "pkill", "-CONT", "-f", "^kube-controller-manager ").Run()
	})
	standInServiceAccounts(t, c)
	code, run, _ := kubeproofRun(t, "--kubeconfig", kubeconfig, "--label-filter", "area:control-plane")
	if code != 1 {
		t.Fatalf("kube-controller-manager frozen: want exit 1 (checks failed), got %d", code)
	}
	gc := findPrefix(run, "garbage collection")
	if gc == nil || gc.Verdict != results.Failed {
		t.Fatalf("want the garbage collection check failed, got %+v", gc)
	}
	for _, want := range []string{"Background: owner background-owner deleted, dependents still present: background-dependent-1, background-dependent-2",
		"Foreground: owner foreground-owner still present", "Orphan: owner orphan-owner still present"} {
		if !strings.Contains(gc.Reason, want) {
			t.Errorf("garbage collection check: want its reason to say %q, got %s", want, gc.Reason)
		}
	}
	leases := findPrefix(run, "kube-scheduler and kube-controller-manager renew")
	if leases == nil || leases.Verdict != results.Failed || !strings.Contains(leases.Reason, "Lease kube-system/kube-controller-manager not renewed") || strings.Contains(leases.Reason, "kube-system/kube-scheduler not") {
		t.Fatalf("want the leader Lease check failed naming kube-controller-manager's Lease alone, got %+v", leases)
	}
	t.Logf("failed as expected: %s | %s", gc.Reason, leases.Reason)
}

// standInServiceAccounts creates the "default" ServiceAccount of each
// namespace kubeproof creates until the test ends, as the frozen
// controller manager would.
func standInServiceAccounts(t *testing.T, c *kube.Client) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	w, err := c.CoreV1().Namespaces().Watch(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=kubeproof"})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(done)
		defer w.Stop()
		for ev := range w.ResultChan() {
			ns, ok := ev.Object.(*corev1.Namespace)
			if !ok || ev.Type != watch.Added {
				continue
			}
			sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
			if _, err := c.CoreV1().ServiceAccounts(ns.Name).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) && ctx.Err() == nil {
				t.Logf("stand-in ServiceAccount in %s: %v", ns.Name, err)
			}
		}
	}()
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

// schedulerLeads waits until kube-scheduler's Lease is held and renewed
// after since.
func schedulerLeads(t *testing.T, c *kube.Client, since time.Time, within time.Duration) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(context.Background(), 500*time.Millisecond, within, true, func(ctx context.Context) (bool, error) {
		l, err := c.CoordinationV1().Leases("kube-system").Get(ctx, "kube-scheduler", metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		last = fmt.Sprintf("holder %q renewed %v", ptr.Deref(l.Spec.HolderIdentity, ""), l.Spec.RenewTime)
		return ptr.Deref(l.Spec.HolderIdentity, "") != "" && l.Spec.RenewTime != nil && l.Spec.RenewTime.After(since), nil
	})
	if err != nil {
		t.Fatalf("kube-scheduler: want it leading (its Lease renewed) within %s, got %s", within, last)
	}
}

// proxyAhead rolls kube-proxy's DaemonSet to an image tagged one minor
// version past the API server (its own image, tagged anew on every node),
// as an upgrade done in the wrong order would: the version check must
// fail naming kube-proxy.
func proxyAhead(t *testing.T, c *kube.Client, kubeconfig string) {
	ctx := context.Background()
	ds, err := c.AppsV1().DaemonSets("kube-system").Get(ctx, "kube-proxy", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	image := ds.Spec.Template.Spec.Containers[0].Image
	repo, tag, _ := strings.Cut(image, ":v")
	major, rest, _ := strings.Cut(tag, ".")
	minor, _, _ := strings.Cut(rest, ".")
	var m int
	if _, err := fmt.Sscan(minor, &m); err != nil {
		t.Fatalf("kube-proxy image %s: no version tag", image)
	}
	ahead := fmt.Sprintf("%s:v%s.%d.0", repo, major, m+1)
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes.Items {
		if b, err := exec.Command("docker", "exec", n.Name, "ctr", "-n", "k8s.io", "images", "tag", "--force", image, ahead).CombinedOutput(); err != nil {
			t.Fatalf("tag %s as %s on %s: %v %s", image, ahead, n.Name, err, b)
		}
	}
	roll := func(to string) error {
		patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":%q,"image":%q}]}}}}`, ds.Spec.Template.Spec.Containers[0].Name, to)
		if _, err := c.AppsV1().DaemonSets("kube-system").Patch(ctx, "kube-proxy", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			return err
		}
		return wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
			d, err := c.AppsV1().DaemonSets("kube-system").Get(ctx, "kube-proxy", metav1.GetOptions{})
			return err == nil && d.Status.ObservedGeneration == d.Generation && d.Status.UpdatedNumberScheduled == d.Status.DesiredNumberScheduled && d.Status.NumberAvailable == d.Status.DesiredNumberScheduled, nil
		})
	}
	t.Cleanup(func() {
		if err := roll(image); err != nil {
			t.Errorf("roll kube-proxy back to %s: %v", image, err)
		}
	})
	if err := roll(ahead); err != nil {
		t.Fatalf("roll kube-proxy to %s: %v", ahead, err)
	}
	code, run, _ := kubeproofRun(t, "--kubeconfig", kubeconfig, "--label-filter", "area:control-plane", "--focus", "skew policy")
	if code != 1 {
		t.Fatalf("kube-proxy ahead: want exit 1 (checks failed), got %d", code)
	}
	ch := findPrefix(run, "kube-controller-manager, kube-scheduler and kube-proxy run versions")
	if ch == nil || ch.Verdict != results.Failed || !strings.Contains(ch.Reason, "kube-proxy v"+major+"."+fmt.Sprint(m+1)+".0 (pod kube-system/kube-proxy-") || !strings.Contains(ch.Reason, "newer than the API server") ||
		strings.Contains(ch.Reason, "kube-scheduler v") {
		t.Fatalf("want the version check failed naming kube-proxy's pods alone, newer than the API server, got %+v", ch)
	}
	t.Logf("failed as expected: %s", ch.Reason)
}
