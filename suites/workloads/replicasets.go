package workloads

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/kubeproof/kubeproof/fixtures"
	"github.com/kubeproof/kubeproof/fixtures/wire"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/suites/framework"
)

// replaceTimeout bounds how long a ReplicaSet may take to create a
// replacement for a deleted pod; the controller reacts in well under a
// second, so missing it means the controller is not running.
const replaceTimeout = 60 * time.Second

func replacesDeletedPods(ctx context.Context, f *framework.Framework) {
	const replicas = 3
	// A short drain keeps a deleted pod answering until its endpoint is
	// gone, so that the traffic shows the controller, not the app.
	rs := framework.Create(ctx, f, f.Client.AppsV1().ReplicaSets(f.Namespace), replicaSet("web", replicas, template("web", 2)))
	svc := framework.Create(ctx, f, f.Services(), fixtures.HTTPService("web"))
	client := startClient(ctx, f)
	waitReplicaSetReady(ctx, f, rs)
	waitServiceAnswers(ctx, f, client, svc)

	// The load runs from before the first deletion until the deleted pods
	// are gone and their replacements Ready, and is judged over all of it.
	pods := framework.WatchPods(ctx, f, selectorOf("web"))
	load := startLoad(ctx, f, client, framework.ServiceURL(svc, "/hostname"))
	load.running(ctx)
	var lastReady time.Time
	var deleted []*corev1.Pod
	for _, n := range []int{1, 2} {
		took, readyAt, victims := replace(ctx, f, rs, pods, n)
		framework.Measure(fmt.Sprintf("time to replacement (%d %s)", n, plural(n, "pod")), took.Seconds(), "s")
		lastReady, deleted = readyAt, append(deleted, victims...)
	}
	gone := waitGone(ctx, pods, deleted, fmt.Sprintf("the deleted pods of ReplicaSet %s", rs.Name))
	load.stopAfter(ctx, later(lastReady, gone), fmt.Sprintf("ReplicaSet %s's replacements were Ready and the deleted pods gone", rs.Name))
	framework.Measure("intervals judged (from before the first deletion until the deleted pods were gone)", float64(load.judged()), "intervals")
	framework.Measure("Service success ratio while pods were replaced", load.totals().Ratio(), "ratio")
	if silent := load.silent(); len(silent) > 0 {
		framework.Failf("%s from %s while ReplicaSet %s replaced deleted pods: want an answer in every %s interval (%d requests/s), got none in %d of %d: %s (pods now: %s)",
			framework.DescribeService(svc), framework.DescribePod(client), rs.Name, judging, loadRate, len(silent), load.judged(), strings.Join(silent, "; "), f.PodsNow(ctx, selectorOf("web")))
	}
}

// later is the later of two moments.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// replace deletes n Ready pods of the ReplicaSet at once and follows its
// pods until as many new ones exist and are Ready. It returns the time
// from the deletion to the last replacement Ready, when that was, and the
// pods it deleted.
func replace(ctx context.Context, f *framework.Framework, rs *appsv1.ReplicaSet, pods *framework.Tracker[*corev1.Pod], n int) (time.Duration, time.Time, []*corev1.Pod) {
	ginkgo.GinkgoHelper()
	known := map[types.UID]bool{}
	var victims []*corev1.Pod
	for _, p := range pods.Objects() {
		known[p.UID] = true
		if len(victims) < n && p.DeletionTimestamp == nil && kube.PodReady(p) {
			victims = append(victims, p)
		}
	}
	if len(victims) < n {
		framework.Failf("ReplicaSet %s: want %d Ready pods to delete, got %s", rs.Name, n, framework.DescribePods(pods.Objects()))
	}
	fresh := func() []*corev1.Pod {
		var out []*corev1.Pod
		for _, p := range pods.Objects() {
			if !known[p.UID] {
				out = append(out, p)
			}
		}
		return out
	}

	deleted := time.Now()
	for _, p := range victims {
		if err := f.Client.CoreV1().Pods(f.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil {
			framework.Failf("delete pod %s/%s of ReplicaSet %s: %v", f.Namespace, p.Name, rs.Name, err)
		}
	}
	gone := framework.PodsOnNodes(victims)
	if _, err := pods.Until(ctx, replaceTimeout-time.Since(deleted), func(time.Time) bool { return len(fresh()) >= n }); err != nil {
		switch got := len(fresh()); {
		case ctx.Err() != nil:
			framework.Failf("ReplicaSet %s after deleting %s: %v", rs.Name, gone, err)
		case got == 0:
			// Tools match this reason (a stopped kube-controller-manager); keep it stable.
			framework.Failf("ReplicaSet %s: no replacement pod was created within %ds after deleting %s", rs.Name, int(replaceTimeout.Seconds()), gone)
		default:
			framework.Failf("ReplicaSet %s: only %d of %d replacement pods were created within %ds after deleting %s", rs.Name, got, n, int(replaceTimeout.Seconds()), gone)
		}
	}
	readyAt, err := pods.Until(ctx, framework.PodStartTimeout, func(time.Time) bool {
		p := fresh()
		return len(p) >= n && allReady(p)
	})
	if err != nil {
		framework.Failf("ReplicaSet %s after deleting %s: want the replacements Ready within %s, got %s (%v)", rs.Name, gone, framework.PodStartTimeout, framework.DescribePods(fresh()), err)
	}
	if active := activePods(pods.Objects()); len(active) != int(*rs.Spec.Replicas) {
		framework.Failf("ReplicaSet %s after replacing %s: want %d pods, got %d: %s", rs.Name, gone, *rs.Spec.Replicas, len(active), framework.DescribePods(active))
	}
	return readyAt.Sub(deleted), readyAt, victims
}

func restartsCrashedContainer(ctx context.Context, f *framework.Framework) {
	rs := framework.Create(ctx, f, f.Client.AppsV1().ReplicaSets(f.Namespace), replicaSet("web", 2, template("web", 0)))
	svc := framework.Create(ctx, f, f.Services(), fixtures.HTTPService("web"))
	client := startClient(ctx, f)
	waitReplicaSetReady(ctx, f, rs)

	pods := framework.WatchPods(ctx, f, selectorOf("web"))
	eps := framework.WatchSlices(ctx, f, svc)
	victim := pods.Objects()[0]
	before := restarts(victim)
	// A new Service's slices take a moment: start from the pod listed ready.
	if _, err := eps.Until(ctx, framework.ProgramTimeout, func(time.Time) bool { return endpointOf(eps, victim) == "ready" }); err != nil {
		framework.Failf("EndpointSlices of %s: want %s ready within %s, got %s (%v)", framework.DescribeService(svc), framework.DescribeTarget(victim), framework.ProgramTimeout, endpointOf(eps, victim), err)
	}

	crashed := time.Now()
	exit := f.HTTPGet(ctx, client, framework.PodURL(victim, "/exit?code=1"), framework.RequestTimeout)
	var got *corev1.Pod
	restartedAt, err := pods.Until(ctx, framework.PodStartTimeout, func(time.Time) bool {
		got = pods.Get(victim.Name)
		return got == nil || got.UID != victim.UID || (restarts(got) > before && kube.PodReady(got))
	})
	switch {
	case err != nil:
		framework.Failf("%s of ReplicaSet %s after GET /exit?code=1 from %s (%s): want its container restarted in place and Ready within %s, got restartCount %d, %s (%v)",
			framework.DescribeTarget(victim), rs.Name, framework.DescribePod(client), exit, framework.PodStartTimeout, restarts(got), framework.PodState(got), err)
	case got == nil || got.UID != victim.UID:
		framework.Failf("%s (UID %s) of ReplicaSet %s after its process exited: want its container restarted in the same pod, got the pod deleted or replaced (now %s)",
			framework.DescribePod(victim), victim.UID, rs.Name, framework.DescribePods(activePods(pods.Objects())))
	}
	framework.Measure("time from crash to pod Ready again", restartedAt.Sub(crashed).Seconds(), "s")

	// Rejoining means the slice first let the crashed pod go unready, then
	// ready again, and for the same pod (UID).
	left := false
	readyAt, err := eps.Until(ctx, framework.ProgramTimeout, func(time.Time) bool {
		state := endpointOf(eps, got)
		left = left || state != "ready"
		return left && state == "ready"
	})
	if err != nil {
		framework.Failf("EndpointSlices of %s after %s crashed and was Ready again: want its endpoint to leave the ready set and return within %s, got %s (left: %t; %v)",
			framework.DescribeService(svc), framework.DescribePod(victim), framework.ProgramTimeout, endpointOf(eps, got), left, err)
	}
	framework.Measure("time from crash to ready in EndpointSlice", readyAt.Sub(crashed).Seconds(), "s")
}

func restarts(p *corev1.Pod) int32 {
	var n int32
	if p == nil {
		return 0
	}
	for _, cs := range p.Status.ContainerStatuses {
		n += cs.RestartCount
	}
	return n
}

// endpointOf says how the slices list the pod: "ready", "not ready",
// "terminating" or "absent"; an endpoint of another pod with the same name
// (a replacement) does not count.
func endpointOf(eps *framework.Tracker[*discoveryv1.EndpointSlice], p *corev1.Pod) string {
	for _, s := range eps.Objects() {
		for _, e := range s.Endpoints {
			if e.TargetRef == nil || e.TargetRef.UID != p.UID {
				continue
			}
			switch {
			case ptr.Deref(e.Conditions.Terminating, false):
				return "terminating"
			case framework.EndpointReady(e):
				return "ready"
			}
			return "not ready"
		}
	}
	return "absent"
}

func scalesAndSpreads(ctx context.Context, f *framework.Framework) {
	const app = "spread"
	t := unprobed(template(app, 0))
	t.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
		MaxSkew:           1,
		TopologyKey:       corev1.LabelHostname,
		WhenUnsatisfiable: corev1.DoNotSchedule,
		LabelSelector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
		// Nodes these pods cannot run on (a tainted control plane) would
		// otherwise count as empty domains and leave pods Pending.
		NodeTaintsPolicy: ptr.To(corev1.NodeInclusionPolicyHonor),
	}}
	api := f.Client.AppsV1().ReplicaSets(f.Namespace)
	start := time.Now()
	rs := framework.Create(ctx, f, api, replicaSet(app, 2, t))
	nodes := f.SchedulableNodes(ctx)
	for i, n := range []int32{2, 5, 1} {
		if i > 0 {
			start = time.Now()
			patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, n)
			if _, err := api.Patch(ctx, rs.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
				framework.Failf("scale ReplicaSet %s/%s to %d: %v", f.Namespace, rs.Name, n, err)
			}
		}
		// Exactly n: terminating pods still count until they are gone.
		var pods []*corev1.Pod
		framework.WaitFor(ctx, framework.PodStartTimeout, poll, fmt.Sprintf("ReplicaSet %s scaled to %d", rs.Name, n), fmt.Sprintf("exactly %d pods, all Ready", n),
			func(ctx context.Context) (bool, string) {
				var err error
				pods, err = f.ListPods(ctx, selectorOf(app))
				ok := err == nil && len(pods) == int(n) && len(activePods(pods)) == int(n) && allReady(pods)
				return ok, fmt.Sprintf("%d: %s (%v)", len(pods), framework.DescribePods(pods), err)
			})
		framework.Measure(fmt.Sprintf("time to scale to %d (exactly %d Ready)", n, n), time.Since(start).Seconds(), "s")
		if n >= 4 {
			checkSpread(rs, pods, nodes)
		}
	}
}

// checkSpread requires per-node pod counts within 1 of each other on the
// nodes that got pods, and more than one such node when there are more.
func checkSpread(rs *appsv1.ReplicaSet, pods []*corev1.Pod, nodes []corev1.Node) {
	ginkgo.GinkgoHelper()
	if len(nodes) < 2 {
		fmt.Fprintf(ginkgo.GinkgoWriter, "spread not checked: %d schedulable node(s)\n", len(nodes))
		return
	}
	perNode := map[string]int{}
	for _, p := range pods {
		perNode[p.Spec.NodeName]++
	}
	var n []int
	for _, c := range perNode {
		n = append(n, c)
	}
	if len(perNode) < 2 || slices.Max(n)-slices.Min(n) > 1 {
		framework.Failf("ReplicaSet %s with %d pods and a spread constraint (maxSkew 1 over %s, DoNotSchedule) on %d schedulable nodes: want per-node counts within 1 of each other on at least 2 nodes, got %s",
			rs.Name, len(pods), corev1.LabelHostname, len(nodes), wire.Counts(perNode))
	}
}

func adoptsAndReleases(ctx context.Context, f *framework.Framework) {
	const app = "adopt"
	t := template(app, 0)
	// All pods of the namespace: a relabelled pod must stay in view.
	pods := framework.WatchPods(ctx, f, "")
	orphan := framework.Create(ctx, f, f.Pods(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "orphan", Labels: t.Labels}, Spec: t.Spec})
	// The orphan must exist as the controller sees it, not just in the
	// API: a ReplicaSet created a few milliseconds later may sync before
	// the controller's cache has the pod. Ready takes the kubelet a second
	// or more, far longer than a cache lags.
	if _, err := pods.Until(ctx, framework.PodStartTimeout, func(time.Time) bool {
		p := pods.Get(orphan.Name)
		return p != nil && kube.PodReady(p)
	}); err != nil {
		framework.Failf("orphan pod %s/%s: want Ready within %s, got %s (%v)", f.Namespace, orphan.Name, framework.PodStartTimeout, f.PodsNow(ctx, ""), err)
	}
	rs := framework.Create(ctx, f, f.Client.AppsV1().ReplicaSets(f.Namespace), replicaSet(app, 2, t))

	// Every pod ever seen, but the orphan, was created by the ReplicaSet;
	// cond runs on every event, so even one created and deleted at once counts.
	created := map[string]bool{}
	matching := func() []*corev1.Pod {
		var out []*corev1.Pod
		for _, p := range activePods(pods.Objects()) {
			if p.Name != orphan.Name {
				created[p.Name] = true
			}
			if p.Labels["app"] == app {
				out = append(out, p)
			}
		}
		return out
	}
	_, err := pods.Until(ctx, framework.PodStartTimeout, func(time.Time) bool {
		m := matching()
		o := pods.Get(orphan.Name)
		return o != nil && controlledBy(o, rs.UID) && len(m) == 2 && allReady(m)
	})
	if err != nil {
		framework.Failf("ReplicaSet %s (replicas 2) created after orphan pod %s with matching labels: want the orphan adopted (controller reference) and 2 Ready pods within %s, got orphan owned by %s, pods %s (%v)",
			rs.Name, orphan.Name, framework.PodStartTimeout, owners(pods.Get(orphan.Name)), framework.DescribePods(matching()), err)
	}
	if len(created) != 1 {
		framework.Failf("ReplicaSet %s (replicas 2) that adopted orphan pod %s: want exactly 1 pod created, got %d: %s", rs.Name, orphan.Name, len(created), strings.Join(slices.Sorted(maps.Keys(created)), ", "))
	}

	// Release: the orphan, now owned, stops matching the selector.
	before := maps.Clone(created)
	patch := `{"metadata":{"labels":{"app":"released"}}}`
	if _, err := f.Client.CoreV1().Pods(f.Namespace).Patch(ctx, orphan.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		framework.Failf("relabel pod %s/%s: %v", f.Namespace, orphan.Name, err)
	}
	var released *corev1.Pod
	_, err = pods.Until(ctx, framework.PodStartTimeout, func(time.Time) bool {
		m := matching()
		released = pods.Get(orphan.Name)
		replaced := slices.ContainsFunc(m, func(p *corev1.Pod) bool { return !before[p.Name] })
		return released == nil || (!ownedBy(released, rs.UID) && replaced && len(m) == 2 && allReady(m))
	})
	switch {
	case err != nil:
		framework.Failf("pod %s relabelled out of ReplicaSet %s's selector: want it released (no ownerReference to the ReplicaSet) and a replacement Ready within %s, got owned by %s, pods %s (%v)",
			orphan.Name, rs.Name, framework.PodStartTimeout, owners(released), framework.DescribePods(matching()), err)
	case released == nil || released.DeletionTimestamp != nil:
		framework.Failf("pod %s relabelled out of ReplicaSet %s's selector: want it released and left running, got it deleted", orphan.Name, rs.Name)
	}
}

func ownedBy(o metav1.Object, uid types.UID) bool {
	return slices.ContainsFunc(o.GetOwnerReferences(), func(r metav1.OwnerReference) bool { return r.UID == uid })
}

// owners prints a pod's owner references: "ReplicaSet/adopt (controller)".
func owners(p *corev1.Pod) string {
	if p == nil {
		return "nothing (pod gone)"
	}
	var out []string
	for _, r := range p.OwnerReferences {
		s := r.Kind + "/" + r.Name
		if ptr.Deref(r.Controller, false) {
			s += " (controller)"
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return "nothing"
	}
	return strings.Join(out, ", ")
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
