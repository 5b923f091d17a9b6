package resilience

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubeproof/kubeproof/chaos"
	"github.com/kubeproof/kubeproof/chaos/faults"
	"github.com/kubeproof/kubeproof/chaos/journal"
	"github.com/kubeproof/kubeproof/chaos/kindnode"
	"github.com/kubeproof/kubeproof/fixtures"
	"github.com/kubeproof/kubeproof/fixtures/wire"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/suites/contract"
	"github.com/kubeproof/kubeproof/suites/framework"
)

// scenario is one node fault and what it must lead to.
type scenario struct {
	fault string
	label contract.Label
	must  string
	// kindOnly faults act on the node container, reachable only on kind.
	kindOnly bool
}

// Scenarios in a slice, never a map: the order is part of the report.
var scenarios = []scenario{
	{"node-stop", contract.ChaosNodeStop,
		"When a worker node powers off, the control plane MUST mark it NotReady within node-monitor-grace-period, taint it, stop routing Service traffic to it, evict its pods after their toleration, and run replacements on healthy nodes; after the node returns it MUST be Ready and schedulable.", true},
	{"kubelet-stop", contract.ChaosKubeletStop,
		"When a node's kubelet stops, the control plane MUST go through the same phases as for a lost node, and the node MUST recover once the kubelet starts again.", true},
	{"node-pause", contract.ChaosNodePause,
		"When a node hangs (all its processes frozen), the control plane MUST treat it as lost and recover the workload; once unfrozen the node MUST be Ready again.", true},
	{"network-partition", contract.ChaosPartition,
		"When a node is cut off from the rest of the cluster, the control plane MUST treat it as lost and recover the workload elsewhere; once the partition heals the node MUST be Ready again.", true},
	{"kubelet-freeze", contract.ChaosKubeletFreeze,
		"When a node's kubelet hangs (on any cluster, managed ones included), the control plane MUST treat the node as lost and recover the workload; once the kubelet resumes the node MUST be Ready again.", false},
}

var _ = framework.Describe("node failure recovery", contract.AreaResilience, contract.Disruptive, ginkgo.Serial, func() {
	f := framework.New("resilience")
	for _, sc := range scenarios {
		labels := []any{sc.label, contract.ProfileCertification}
		if sc.fault == "kubelet-freeze" {
			labels = append(labels, contract.NeedsPrivileged)
		}
		framework.Check(sc.fault+": workload recovers and the node heals", sc.must,
			append(labels, func(ctx ginkgo.SpecContext) { runScenario(ctx, f, sc) })...)
	}
})

const (
	app         = "web"
	trafficRate = 10
	// margin is added to every bound: API watches, controller loops and a
	// loaded 2-core machine all take a little time.
	margin = 30 * time.Second
)

func runScenario(ctx ginkgo.SpecContext, f *framework.Framework, sc scenario) {
	if sc.kindOnly && framework.Context.KindCluster == "" {
		ginkgo.Skip("not a kind cluster (or --no-kind-detection): " + sc.fault + " acts on the node's container through Docker, which kubeproof reaches only for a kind cluster of this machine")
	}
	if sc.fault == "kubelet-freeze" && !framework.Context.AllowPrivilegedPods {
		ginkgo.Skip("kubelet-freeze runs a privileged hostPID pod on the node: not allowed without --allow-privileged-pods")
	}
	nodes := f.RequireNodes(ctx, 2)
	settings := readTiming(ctx, f.Client)
	fmt.Fprintf(ginkgo.GinkgoWriter, "node-monitor-grace-period %s (%s)\n", settings.GracePeriod, settings.Source)

	replicas := 2 * len(nodes)
	deploy := framework.Create(ctx, f, f.Client.AppsV1().Deployments(f.Namespace), webDeployment(int32(replicas), 2))
	framework.Create(ctx, f, f.Services(), fixtures.HTTPService(app))
	waitAvailable(ctx, f, deploy.Name, replicas)

	// The traffic client runs where no fault goes: on the control plane
	// when there is one (it tolerates its taint), else on a worker we spare.
	trafficNode, victim := pickNodes(ctx, f, nodes)
	traffic := framework.Create(ctx, f, f.Pods(), trafficPod(trafficNode))
	f.WaitPodReady(ctx, traffic.Name)
	onVictim := shareOn(ctx, f, victim)

	tolerance := evictionToleration(ctx, f)
	target := faultTarget(ctx, f)
	fault, err := faults.Plan(ctx, target,
		faults.Request{Kind: chaos.Kind(sc.fault), Node: victim, AllowDisruptive: framework.Context.AllowDisruptive, AllowControlPlane: framework.Context.AllowControlPlane,
			// A frozen kubelet must stay frozen past eviction and replacement.
			AllowPrivilegedPods: framework.Context.AllowPrivilegedPods, Image: framework.Context.WorkloadImage, PullSecret: framework.Context.ImagePullSecret, For: settings.GracePeriod + tolerance + time.Minute,
			RunID: framework.RunID(), Owner: framework.Owner()})
	notPlanned(sc.fault, victim, err)
	// The exact target is recorded and printed before anything breaks.
	ginkgo.AddReportEntry(contract.EntryTargets, []string{victim})
	fmt.Fprintf(ginkgo.GinkgoWriter, "plan: %s, in cluster %s (server %s)\n", fault.Describe(), target.Cluster, target.Server)

	obs := newObserver(f.Client, f.Namespace, victim, app, replicas)
	ginkgo.DeferCleanup(obs.close)
	// Let the traffic establish a baseline before the fault.
	framework.WaitFor(ctx, 30*time.Second, time.Second, "traffic pod "+traffic.Name, "at least 3 intervals of traffic in its log before the fault",
		func(ctx context.Context) (bool, string) {
			got, err := readTraffic(ctx, f, traffic.Name)
			return len(got) >= 3, describeTraffic(got, err)
		})

	injectedAt := time.Now()
	entry, err := faults.Inject(ctx, framework.RunID(), target, fault)
	ginkgo.DeferCleanup(func(ctx context.Context) {
		// Registered right after injecting: whatever happens next, the
		// fault is undone; already-healthy counts as done.
		if err := faults.Revert(context.WithoutCancel(ctx), entry); err != nil {
			fmt.Fprintf(ginkgo.GinkgoWriter, "cleanup: %v (run `kubeproof chaos revert`)\n", err)
		}
	})
	if framework.RefusedByPolicy(err) {
		ginkgo.Skip(fmt.Sprintf("not checked: the cluster's policy forbids the %s fault's pods: %v", sc.fault, err))
	}
	if err != nil {
		framework.Failf("%v", err)
	}
	obs.begin(injectedAt)

	notReadyBound := settings.GracePeriod + margin
	evictBound := settings.GracePeriod + tolerance + margin
	replaceBound := evictBound + framework.PodStartTimeout
	expectPhase(ctx, obs, sc, victim, phaseNotReady, notReadyBound, fmt.Sprintf("node-monitor-grace-period %s + %s", settings.GracePeriod, margin))
	expectPhase(ctx, obs, sc, victim, phaseTainted, notReadyBound, fmt.Sprintf("node-monitor-grace-period %s + %s", settings.GracePeriod, margin))
	expectPhase(ctx, obs, sc, victim, phaseEndpoints, notReadyBound, fmt.Sprintf("node-monitor-grace-period %s + %s", settings.GracePeriod, margin))
	expectPhase(ctx, obs, sc, victim, phaseEvicted, evictBound, fmt.Sprintf("grace %s + toleration %s + %s", settings.GracePeriod, tolerance, margin))
	expectPhase(ctx, obs, sc, victim, phaseReplaced, replaceBound, fmt.Sprintf("eviction bound + pod start %s", framework.PodStartTimeout))
	replacedAt := time.Now()

	revertAt := time.Now()
	if err := faults.Revert(ctx, entry); err != nil {
		framework.Failf("revert %s on %s: %v", sc.fault, victim, err)
	}
	fmt.Fprintf(ginkgo.GinkgoWriter, "reverted %s on %s after %s\n", sc.fault, victim, revertAt.Sub(injectedAt).Round(time.Second))
	recoveryBound := 2 * time.Minute
	expectPhase(ctx, obs, sc, victim, phaseRecovered, revertAt.Sub(injectedAt)+recoveryBound, fmt.Sprintf("revert + %s", recoveryBound))
	expectNoFaultLeft(ctx, sc, victim, entry.ID)

	// Keep some traffic after recovery to show the Service is whole again.
	intervals := trafficUntil(ctx, f, traffic.Name, time.Now().Add(10*time.Second))
	report(sc, obs, intervals, injectedAt, replacedAt, revertAt, victim, trafficNode, onVictim)
}

// expectPhase waits until the observer saw the phase, within bound of the
// injection; the failure names the phase, the node and the bound's origin.
func expectPhase(ctx ginkgo.SpecContext, obs *observer, sc scenario, victim, phase string, bound time.Duration, why string) {
	ginkgo.GinkgoHelper()
	remaining := bound - time.Since(obs.start)
	if remaining < time.Second {
		remaining = time.Second
	}
	if !framework.Poll(ctx, remaining, 250*time.Millisecond, func(context.Context) bool { _, ok := obs.since(phase); return ok }) {
		framework.Failf("%s on node %s: want %s within %s of the fault (bound: %s)%s, got %s", sc.fault, victim, phase, bound.Round(time.Second), why, framework.CutShort(ctx), obs.seen())
	}
	d, _ := obs.since(phase)
	fmt.Fprintf(ginkgo.GinkgoWriter, "%7.1fs  %s\n", d.Seconds(), phase)
}

// expectNoFaultLeft checks the node itself, not only the journal.
func expectNoFaultLeft(ctx context.Context, sc scenario, victim, entryID string) {
	ginkgo.GinkgoHelper()
	entries, _ := journal.List(framework.RunID())
	for _, e := range entries {
		if e.ID == entryID {
			framework.Failf("%s: journal entry %s still present after revert", sc.fault, entryID)
		}
	}
	if !sc.kindOnly {
		return
	}
	n := kindnode.Node{Cluster: framework.Context.KindCluster, Name: victim}
	if st, err := n.State(ctx); err != nil || st != "running" {
		framework.Failf("%s: node container %s is %q after revert, want running (%v)", sc.fault, victim, st, err)
	}
	if !n.KubeletActive(ctx) {
		framework.Failf("%s: kubelet on %s is not active after revert", sc.fault, victim)
	}
	if n.PartitionActive(ctx) {
		framework.Failf("%s: partition rules still present on %s after revert", sc.fault, victim)
	}
}

// outageMargin is how far below its expected floor the success during an
// outage may fall (sampling: which backend each connection lands on).
const outageMargin = 10.0

// report records the phases and the traffic; it fails when requests failed
// after recovery, or when the outage cost more than the backends the node
// held: until their endpoints go, about that share of requests fails, and
// the rest must be answered.
func report(sc scenario, obs *observer, intervals []wire.Interval, injectedAt, replacedAt, revertAt time.Time, victim, trafficNode string, onVictim float64) {
	for _, phase := range phases {
		if d, ok := obs.since(phase); ok {
			framework.Measure("phase: "+phase, d.Seconds(), "s")
		}
	}
	var series []framework.Point
	outageOK, outageAll, afterOK, afterAll := 0, 0, 0, 0
	// When each request after recovery failed, and how: the line that
	// says so must let a reader tell a slow node's return from a lost
	// endpoint.
	var afterFailed []string
	for _, iv := range intervals {
		at := time.UnixMilli(iv.Start)
		total := iv.OK + iv.Failed
		if total == 0 {
			continue
		}
		series = append(series, framework.Point{T: at.Sub(injectedAt).Seconds(), V: 100 * float64(iv.OK) / float64(total)})
		switch {
		case at.Before(injectedAt):
		case at.Before(replacedAt):
			outageOK, outageAll = outageOK+iv.OK, outageAll+total
		default:
			afterOK, afterAll = afterOK+iv.OK, afterAll+total
			if iv.Failed > 0 {
				afterFailed = append(afterFailed, fmt.Sprintf("%d in the 1s interval at %+.1fs from the revert (%s)", iv.Failed, at.Sub(revertAt).Seconds(), wire.Counts(iv.Errors)))
			}
		}
	}
	if outageAll > 0 {
		ratio := 100 * float64(outageOK) / float64(outageAll)
		framework.MeasureSeries("traffic success during outage", ratio, "%", series)
		if floor := 100*(1-onVictim) - outageMargin; ratio < floor {
			framework.Failf("%s on node %s: want at least %.0f%% of requests through Service %s from the traffic pod on node %s answered during the outage (%.0f%% of its backends were elsewhere, less %.0f), got %.1f%% (%d of %d)",
				sc.fault, victim, floor, app, trafficNode, 100*(1-onVictim), outageMargin, ratio, outageOK, outageAll)
		}
	}
	if afterAll > 0 {
		ratio := 100 * float64(afterOK) / float64(afterAll)
		framework.Measure("traffic success after recovery", ratio, "%")
		if afterOK != afterAll {
			framework.Failf("%s on node %s: after recovery %d of %d requests through Service %s from the traffic pod on node %s failed; want none: %s", sc.fault, victim, afterAll-afterOK, afterAll, app, trafficNode, strings.Join(afterFailed, "; "))
		}
	}
}

// readTraffic reads the intervals the traffic pod has logged so far.
func readTraffic(ctx context.Context, f *framework.Framework, pod string) ([]wire.Interval, error) {
	raw, err := f.Client.CoreV1().Pods(f.Namespace).GetLogs(pod, &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("logs of pod %s/%s: %w", f.Namespace, pod, err)
	}
	intervals, _, _ := wire.ParseIntervals(string(raw))
	return intervals, nil
}

// describeTraffic says how far a traffic log goes: "12 intervals, the
// last from 10:04:05", or why it could not be read.
func describeTraffic(got []wire.Interval, err error) string {
	switch {
	case err != nil:
		return err.Error()
	case len(got) == 0:
		return "no intervals"
	}
	return fmt.Sprintf("%d intervals, the last from %s", len(got), time.UnixMilli(got[len(got)-1].Start).Format(time.TimeOnly))
}

// trafficUntil waits until the traffic log covers the given moment.
func trafficUntil(ctx ginkgo.SpecContext, f *framework.Framework, pod string, until time.Time) []wire.Interval {
	ginkgo.GinkgoHelper()
	var got []wire.Interval
	framework.WaitFor(ctx, time.Until(until)+30*time.Second, time.Second, "traffic pod "+pod, "intervals in its log past "+until.Format(time.TimeOnly),
		func(ctx context.Context) (bool, string) {
			var err error
			got, err = readTraffic(ctx, f, pod)
			return len(got) > 0 && time.UnixMilli(got[len(got)-1].Start).After(until), describeTraffic(got, err)
		})
	return got
}

// evictionToleration is how long the app's pods tolerate an unreachable
// node: the API server's default toleration, as stamped on the pods.
func evictionToleration(ctx context.Context, f *framework.Framework) time.Duration {
	pods, err := f.Client.CoreV1().Pods(f.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	if err == nil && len(pods.Items) > 0 {
		for _, t := range pods.Items[0].Spec.Tolerations {
			if t.Key == corev1.TaintNodeUnreachable && t.TolerationSeconds != nil {
				return time.Duration(*t.TolerationSeconds) * time.Second
			}
		}
	}
	return 300 * time.Second
}

// pickNodes chooses where the traffic client runs and which worker fails:
// a worker that runs some of the app and not the client.
func pickNodes(ctx context.Context, f *framework.Framework, schedulable []corev1.Node) (trafficNode, victim string) {
	ginkgo.GinkgoHelper()
	all, err := f.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		framework.Failf("list nodes: %v", err)
	}
	for _, n := range all.Items {
		if _, cp := n.Labels["node-role.kubernetes.io/control-plane"]; cp && trafficNode == "" {
			trafficNode = n.Name
		}
	}
	if trafficNode == "" {
		trafficNode = schedulable[0].Name
	}
	pods, err := f.Client.CoreV1().Pods(f.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		framework.Failf("list pods: %v", err)
	}
	for _, p := range pods.Items {
		if p.Spec.NodeName != trafficNode {
			return trafficNode, p.Spec.NodeName
		}
	}
	framework.Failf("no node other than %s runs a %s pod to fail", trafficNode, app)
	return "", ""
}

// webDeployment spreads the app over the nodes; shutdownDelay (seconds)
// keeps an evicted pod answering while its endpoint is withdrawn.
func webDeployment(replicas int32, shutdownDelay int) *appsv1.Deployment {
	pod := framework.ServerPod(framework.Server{Name: app, ShutdownDelay: shutdownDelay})
	pod.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
		MaxSkew: 1, TopologyKey: corev1.LabelHostname, WhenUnsatisfiable: corev1.ScheduleAnyway,
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
	}}
	labels := framework.RunLabels()
	labels["app"] = app
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: app},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: pod.Spec},
		},
	}
}

// trafficPod sends requests through the Service for as long as the longest
// scenario can take, printing one JSON line per second to its log.
func trafficPod(node string) *corev1.Pod {
	p := framework.ServerPod(framework.Server{Name: "traffic", Node: node, NoReadinessProbe: true})
	p.Spec.Containers[0].Args = []string{"load", "--url", framework.HostURL(app, wire.HTTPPort, "/hostname"),
		fmt.Sprintf("--rate=%d", trafficRate), "--duration=30m", "--interval=1s", "--timeout=1s"}
	p.Spec.Containers[0].Ports = nil
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	p.Spec.Tolerations = []corev1.Toleration{{Key: "node-role.kubernetes.io/control-plane", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
	return p
}

func waitAvailable(ctx ginkgo.SpecContext, f *framework.Framework, name string, replicas int) {
	ginkgo.GinkgoHelper()
	framework.WaitFor(ctx, framework.PodStartTimeout, time.Second, fmt.Sprintf("Deployment %s/%s", f.Namespace, name), fmt.Sprintf("%d available replicas", replicas),
		func(ctx context.Context) (bool, string) {
			d, err := f.Client.AppsV1().Deployments(f.Namespace).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return d.Status.AvailableReplicas == int32(replicas), fmt.Sprintf("%d (pods: %s)", d.Status.AvailableReplicas, f.PodsNow(ctx, "app="+app))
		})
}

// faultTarget is the cluster under test, as the fault journal records it.
func faultTarget(ctx context.Context, f *framework.Framework) faults.Target {
	return faults.TargetFor(ctx, f.Client, framework.Context.Kubeconfig, framework.Context.KindCluster)
}

// notPlanned ends the spec when a fault could not be planned: a safety
// rule's refusal (no consent, a control-plane node) means "not checked",
// with its reason; any other error (node gone, API error) is a failure,
// never a skip that would read as nothing wrong.
func notPlanned(fault, node string, err error) {
	ginkgo.GinkgoHelper()
	switch {
	case err == nil:
	case errors.Is(err, faults.ErrUnsafe):
		ginkgo.Skip(fmt.Sprintf("not checked: %s on node %s %v", fault, node, err))
	default:
		framework.Failf("%s on node %s: want the fault planned, got %v", fault, node, err)
	}
}

// shareOn is the share of the app's Ready pods that run on node.
func shareOn(ctx context.Context, f *framework.Framework, node string) float64 {
	ginkgo.GinkgoHelper()
	on, ready := podsOn(ctx, f, node)
	return float64(on) / float64(ready)
}

// podsOn counts the app's Ready pods on node, and in all.
func podsOn(ctx context.Context, f *framework.Framework, node string) (on, ready int) {
	ginkgo.GinkgoHelper()
	pods, err := f.ListPods(ctx, "app="+app)
	if err != nil {
		framework.Failf("%v", err)
	}
	for _, p := range pods {
		if p.DeletionTimestamp != nil || !kube.PodReady(p) {
			continue
		}
		ready++
		if p.Spec.NodeName == node {
			on++
		}
	}
	if ready == 0 {
		framework.Failf("no Ready %s pod before the fault (pods: %s)", app, f.PodsNow(ctx, "app="+app))
	}
	return on, ready
}
