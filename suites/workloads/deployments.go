package workloads

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubeproof/kubeproof/fixtures"
	"github.com/kubeproof/kubeproof/fixtures/wire"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/suites/framework"
)

// missingImage can never run: no registry serves kubeproof.local, and with
// a side-loaded workload image the template does not even try to pull.
const missingImage = "kubeproof.local/not-present:v0"

func rollingUpdateUnderLoad(ctx context.Context, f *framework.Framework) {
	const replicas = 3
	// The drain keeps an old pod answering while its endpoint is removed
	// from the client node's rules (until no request has come for 1 s, at
	// most 10 s): what a preStop delay does for real apps.
	d := framework.Create(ctx, f, f.Client.AppsV1().Deployments(f.Namespace),
		deployment("web", replicas, template("web", 10, version("v1")), rollingUpdate(1, 0)))
	svc := framework.Create(ctx, f, f.Services(), fixtures.HTTPService("web"))
	client := startClient(ctx, f)
	dw := framework.WatchDeployment(ctx, f, d.Name)
	waitRolledOut(ctx, f, dw, d)
	waitServiceAnswers(ctx, f, client, svc)

	// The load runs from before the update until the old pods are gone,
	// and is judged over all of it.
	pods := framework.WatchPods(ctx, f, selectorOf("web"))
	old := activePods(pods.Objects())
	load := startLoad(ctx, f, client, framework.ServiceURL(svc, "/hostname"))
	load.running(ctx)
	start := time.Now()
	v2 := updateDeployment(ctx, f, d.Name, func(d *appsv1.Deployment) { setVersion(&d.Spec.Template, "v2") })
	done := waitRolledOut(ctx, f, dw, v2)
	framework.Measure("rollout duration", done.Sub(start).Seconds(), "s")
	// An old pod serves for its drain after the rollout deleted it; a
	// request still sent to it once it has stopped would fail.
	gone := waitGone(ctx, pods, old, fmt.Sprintf("the old pods of Deployment %s", d.Name))
	load.stopAfter(ctx, gone, fmt.Sprintf("Deployment %s rolled out and its old pods were gone", d.Name))
	total := load.totals()
	framework.Measure("requests judged (from before the update until the old pods were gone)", float64(total.OK+total.Failed), "requests")
	framework.Measure("Service success ratio during the rollout", total.Ratio(), "ratio")
	framework.Measure("request latency p50 during the rollout", total.P50MS, "ms")
	framework.Measure("request latency p99 during the rollout", total.P99MS, "ms")
	if total.Failed > 0 {
		framework.Failf("%s from %s during a rolling update of Deployment %s (maxSurge 1, maxUnavailable 0, drain until 1s without requests, at most 10s) until its old pods were gone: want 0 failed requests (%d/s), got %d of %d failed: %s (pods now: %s)",
			framework.DescribeService(svc), framework.DescribePod(client), d.Name, loadRate, total.Failed, total.OK+total.Failed, strings.Join(load.failures(), "; "), f.PodsNow(ctx, selectorOf("web")))
	}
}

func surgeAndUnavailability(ctx context.Context, f *framework.Framework) {
	const replicas, maxSurge, maxUnavailable = 3, 1, 1
	d := framework.Create(ctx, f, f.Client.AppsV1().Deployments(f.Namespace),
		deployment("web", replicas, unprobed(template("web", 0, version("v1"))), rollingUpdate(maxSurge, maxUnavailable)))
	dw := framework.WatchDeployment(ctx, f, d.Name)
	waitRolledOut(ctx, f, dw, d)

	sets := framework.WatchReplicaSets(ctx, f, selectorOf("web"))
	old := map[string]bool{}
	for _, rs := range sets.Objects() {
		old[rs.Name] = true
	}
	var surge, unavailable []framework.Point
	var peakSurge, peakUnavailable int32
	var violation string
	start := time.Now()
	v2 := updateDeployment(ctx, f, d.Name, func(d *appsv1.Deployment) { setVersion(&d.Spec.Template, "v2") })
	// The sums are checked after every ReplicaSet event, so a moment
	// between two samples cannot hide a breach. The total is what the
	// controller asked for (spec.replicas), as upstream's e2e counts it:
	// each ReplicaSet's status.replicas is written on its own and lags (a
	// scaled-down set reports the pod it just deleted), so a sum of them
	// is no snapshot of any one moment. Availability is read from status:
	// the controller scales an old set down only after the new set's
	// status shows more available, earlier in this same event stream.
	_, err := sets.Until(ctx, rolloutTimeout, func(at time.Time) bool {
		var total, available int32
		var parts []string
		complete := false
		for _, rs := range sets.Objects() {
			if !controlledBy(rs, d.UID) {
				continue
			}
			total += ptr.Deref(rs.Spec.Replicas, 0)
			available += rs.Status.AvailableReplicas
			parts = append(parts, fmt.Sprintf("%s %d/%d available of %d", rs.Name, rs.Status.AvailableReplicas, rs.Status.Replicas, ptr.Deref(rs.Spec.Replicas, 0)))
			if !old[rs.Name] && rs.Status.Replicas == replicas && rs.Status.AvailableReplicas == replicas && rs.Status.ObservedGeneration >= rs.Generation {
				complete = true
			}
		}
		t := at.Sub(start).Seconds()
		s, u := max(total-replicas, 0), max(replicas-available, 0)
		peakSurge, peakUnavailable = max(peakSurge, s), max(peakUnavailable, u)
		surge = append(surge, framework.Point{T: t, V: float64(s)})
		unavailable = append(unavailable, framework.Point{T: t, V: float64(u)})
		if total > replicas+maxSurge || available < replicas-maxUnavailable {
			violation = fmt.Sprintf("at +%.2fs (%s): %d pods asked for, %d available (%s)", t, sets.Last(), total, available, strings.Join(parts, ", "))
			return true
		}
		return complete && total == replicas && available == replicas
	})
	if violation != "" {
		framework.Failf("Deployment %s rolling out (%d replicas, maxSurge %d, maxUnavailable %d): want at most %d pods asked for and at least %d available after every ReplicaSet change, got %s",
			d.Name, replicas, maxSurge, maxUnavailable, replicas+maxSurge, replicas-maxUnavailable, violation)
	}
	if err != nil {
		framework.Failf("Deployment %s: want its rollout complete within %s, got %s (%v)", d.Name, rolloutTimeout, replicaSets(sets.Objects()), err)
	}
	framework.MeasureSeries("peak surge during the rollout", float64(peakSurge), "pods", surge)
	framework.MeasureSeries("peak unavailability during the rollout", float64(peakUnavailable), "pods", unavailable)
	waitRolledOut(ctx, f, dw, v2)
}

func replicaSets(sets []*appsv1.ReplicaSet) string {
	var parts []string
	for _, rs := range sets {
		parts = append(parts, fmt.Sprintf("%s %d/%d available of %d", rs.Name, rs.Status.AvailableReplicas, rs.Status.Replicas, ptr.Deref(rs.Spec.Replicas, 0)))
	}
	return strings.Join(parts, ", ")
}

func rollsBack(ctx context.Context, f *framework.Framework) {
	// One replica: the revisions are this check's, the order and the
	// bounds of a rollout are what the other checks judge; each revision
	// costs one pod start instead of two.
	// The drain keeps a replaced pod answering until the Service's rules
	// drop it, so that a batch sent meanwhile shows who answers instead of
	// waiting out requests to a pod that is gone.
	d := framework.Create(ctx, f, f.Client.AppsV1().Deployments(f.Namespace),
		deployment("web", 1, template("web", 5, version("v1")), rollingUpdate(1, 0)))
	svc := framework.Create(ctx, f, f.Services(), fixtures.HTTPService("web"))
	client := startClient(ctx, f)
	dw := framework.WatchDeployment(ctx, f, d.Name)
	waitRolledOut(ctx, f, dw, d)
	rev1 := dw.Get(d.Name).Annotations[revisionAnnotation]

	v2 := updateDeployment(ctx, f, d.Name, func(d *appsv1.Deployment) { setVersion(&d.Spec.Template, "v2") })
	waitRolledOut(ctx, f, dw, v2)
	expectVersion(ctx, f, client, svc, "v2")

	sets, err := ownedReplicaSets(ctx, f, d)
	if err != nil {
		framework.Failf("%v", err)
	}
	i := slices.IndexFunc(sets, func(rs *appsv1.ReplicaSet) bool { return rs.Annotations[revisionAnnotation] == rev1 })
	if i < 0 {
		framework.Failf("Deployment %s after v1 -> v2: want a ReplicaSet of revision %s to roll back to, got %s", d.Name, rev1, revisions(sets))
	}
	v1 := sets[i]
	// What `kubectl rollout undo` does: the old ReplicaSet's template,
	// without the hash label the controller added, becomes the Deployment's.
	undo := v1.Spec.Template.DeepCopy()
	delete(undo.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	back := updateDeployment(ctx, f, d.Name, func(d *appsv1.Deployment) { d.Spec.Template = *undo })
	waitRolledOut(ctx, f, dw, back)

	// The controller must bring back the old ReplicaSet, not make a new one.
	sets, err = ownedReplicaSets(ctx, f, d)
	if err != nil {
		framework.Failf("%v", err)
	}
	if i := slices.IndexFunc(sets, func(rs *appsv1.ReplicaSet) bool { return ptr.Deref(rs.Spec.Replicas, 0) > 0 }); i < 0 || sets[i].Name != v1.Name || len(sets) != 2 {
		framework.Failf("Deployment %s rolled back to revision %s: want its pods run by ReplicaSet %s again and no third ReplicaSet, got %s", d.Name, rev1, v1.Name, revisions(sets))
	}
	// Every answer must come from v1 once the Service's rules caught up.
	expectVersion(ctx, f, client, svc, "v1")
}

// expectVersion waits until a batch of requests through the Service is
// all answered by pods with VERSION=want: endpoints of a finished rollout
// take a moment to reach kube-proxy.
func expectVersion(ctx context.Context, f *framework.Framework, from *corev1.Pod, svc *corev1.Service, want string) {
	ginkgo.GinkgoHelper()
	url := framework.ServiceURL(svc, "/env?name=VERSION")
	within := framework.ProbeTimeouts()
	framework.WaitFor(ctx, framework.ProgramTimeout, poll, fmt.Sprintf("%s from %s", framework.DescribeService(svc), framework.DescribePod(from)), "every answer of /env?name=VERSION to be "+want,
		func(ctx context.Context) (bool, string) {
			got, err := f.HTTPBatchWithin(ctx, from, url, 20, within())
			ok := err == nil && got.Failed == 0 && got.OK > 0 && got.Backends[want] == got.OK
			if ok {
				return true, ""
			}
			return false, fmt.Sprintf("%s (%v; pods: %s)", versions(got), err, f.PodsNow(ctx, selectorOf(svc.Spec.Selector["app"])))
		})
}

func envOf(p *corev1.Pod, name string) string {
	for _, e := range p.Spec.Containers[0].Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// revisions prints ReplicaSets as "web-abc (revision 1, 0 replicas)".
func revisions(sets []*appsv1.ReplicaSet) string {
	var parts []string
	for _, rs := range sets {
		parts = append(parts, fmt.Sprintf("%s (revision %s, %d replicas)", rs.Name, rs.Annotations[revisionAnnotation], ptr.Deref(rs.Spec.Replicas, 0)))
	}
	return strings.Join(parts, ", ")
}

// pauseHold is how long a paused Deployment must keep its ReplicaSets
// after the controller observed the change: one judging interval. The
// controller reports the generation observed at the end of the sync that
// judged the change, so a ReplicaSet it made for it exists by then; the
// interval covers a list that raced that status update.
const pauseHold = poll

func pausesAndResumes(ctx context.Context, f *framework.Framework) {
	// One replica: what is judged is whether a ReplicaSet is made, not
	// how many pods it runs.
	d := framework.Create(ctx, f, f.Client.AppsV1().Deployments(f.Namespace),
		deployment("web", 1, unprobed(template("web", 0, version("v1"))), rollingUpdate(1, 0)))
	dw := framework.WatchDeployment(ctx, f, d.Name)
	waitRolledOut(ctx, f, dw, d)
	before, err := ownedReplicaSets(ctx, f, d)
	if err != nil {
		framework.Failf("%v", err)
	}

	updateDeployment(ctx, f, d.Name, func(d *appsv1.Deployment) { d.Spec.Paused = true })
	changed := updateDeployment(ctx, f, d.Name, func(d *appsv1.Deployment) { setVersion(&d.Spec.Template, "v2") })
	// The controller has judged the change once it reports the new
	// generation observed (its status update ends a sync); no new
	// ReplicaSet then, nor during a second after, is the evidence.
	var sets []*appsv1.ReplicaSet
	var observed time.Time
	var now *appsv1.Deployment
	created := false
	held := framework.Poll(ctx, framework.ProgramTimeout, poll, func(ctx context.Context) bool {
		sets, err = ownedReplicaSets(ctx, f, d)
		if err == nil && !slices.Equal(framework.Names(sets), framework.Names(before)) {
			created = true
			return true
		}
		if observed.IsZero() {
			if now, err = f.Client.AppsV1().Deployments(f.Namespace).Get(ctx, d.Name, metav1.GetOptions{}); err == nil && now.Status.ObservedGeneration >= changed.Generation {
				observed = time.Now()
			}
		}
		return !observed.IsZero() && time.Since(observed) >= pauseHold
	})
	switch {
	case created:
		framework.Failf("Deployment %s paused, then its template changed: want no new ReplicaSet, got %s", d.Name, revisions(sets))
	case !held:
		framework.Failf("Deployment %s paused: want generation %d observed within %s and no new ReplicaSet for %s after, got %s, ReplicaSets %s (%v)%s", d.Name, changed.Generation, framework.ProgramTimeout, pauseHold, deploymentStatus(now), revisions(sets), err, framework.CutShort(ctx))
	}

	resumed := time.Now()
	resume := updateDeployment(ctx, f, d.Name, func(d *appsv1.Deployment) { d.Spec.Paused = false })
	done := waitRolledOut(ctx, f, dw, resume)
	framework.Measure("rollout duration after resume", done.Sub(resumed).Seconds(), "s")
	if sets, err = ownedReplicaSets(ctx, f, d); err != nil || len(sets) != 2 {
		framework.Failf("Deployment %s resumed and rolled out: want 2 ReplicaSets (v1, v2), got %s (%v)", d.Name, revisions(sets), err)
	}
}

func recreateNeverOverlaps(ctx context.Context, f *framework.Framework) {
	const replicas = 2
	d := framework.Create(ctx, f, f.Client.AppsV1().Deployments(f.Namespace),
		deployment("web", replicas, unprobed(template("web", 0, version("v1"))), appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}))
	dw := framework.WatchDeployment(ctx, f, d.Name)
	waitRolledOut(ctx, f, dw, d)

	pods := framework.WatchPods(ctx, f, selectorOf("web"))
	oldHash := pods.Objects()[0].Labels[appsv1.DefaultDeploymentUniqueLabelKey]
	var overlap string
	var oldGone, newReady time.Time
	start := time.Now()
	v2 := updateDeployment(ctx, f, d.Name, func(d *appsv1.Deployment) { setVersion(&d.Spec.Template, "v2") })
	_, err := pods.Until(ctx, rolloutTimeout, func(at time.Time) bool {
		var old, fresh []*corev1.Pod
		ready := 0
		for _, p := range pods.Objects() {
			switch {
			case p.Labels[appsv1.DefaultDeploymentUniqueLabelKey] != oldHash:
				fresh = append(fresh, p)
				if kube.PodReady(p) {
					ready++
				}
			// A pod in a terminal phase runs nothing: the controller (and
			// the strategy's promise) count it as gone while the kubelet
			// removes the object.
			case p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed:
				old = append(old, p)
			}
		}
		if len(old) > 0 && len(fresh) > 0 {
			overlap = fmt.Sprintf("at +%.2fs (%s): old %s and new %s", at.Sub(start).Seconds(), pods.Last(), framework.DescribePods(old), framework.DescribePods(fresh))
			return true
		}
		if len(old) == 0 && oldGone.IsZero() {
			oldGone = at
		}
		if ready > 0 && newReady.IsZero() {
			newReady = at
		}
		return len(old) == 0 && ready == replicas
	})
	if overlap != "" {
		framework.Failf("Deployment %s (Recreate) rolling out: want no pod of the new template while one of the old still runs, got %s", d.Name, overlap)
	}
	if err != nil {
		framework.Failf("Deployment %s (Recreate): want %d new pods Ready within %s, got %s (%v)", d.Name, replicas, rolloutTimeout, framework.DescribePods(pods.Objects()), err)
	}
	framework.Measure("Recreate downtime (last old pod gone to first new pod Ready)", newReady.Sub(oldGone).Seconds(), "s")
	waitRolledOut(ctx, f, dw, v2)
}

func reportsStalledRollout(ctx context.Context, f *framework.Framework) {
	// The smallest deadline the API accepts: progressDeadlineSeconds must
	// exceed minReadySeconds, 0 here (apps validation). The first rollout
	// may overrun it too: the controller only reports a deadline, carries
	// on, and sets Progressing=True again once that rollout is complete.
	// The condition's lastUpdateTime is stored in whole seconds, so the
	// report may come up to 1 s early; the check asks only that it comes.
	const deadline = 1
	// The grace over the deadline covers the controller's resync of the
	// condition on a loaded machine.
	const limit = (deadline + 30) * time.Second
	spec := deployment("web", 2, template("web", 0), rollingUpdate(1, 0))
	spec.Spec.ProgressDeadlineSeconds = ptr.To(int32(deadline))
	d := framework.Create(ctx, f, f.Client.AppsV1().Deployments(f.Namespace), spec)
	svc := framework.Create(ctx, f, f.Services(), fixtures.HTTPService("web"))
	client := startClient(ctx, f)
	dw := framework.WatchDeployment(ctx, f, d.Name)
	waitRolledOut(ctx, f, dw, d)
	waitServiceAnswers(ctx, f, client, svc)
	oldPods, err := f.ListPods(ctx, selectorOf("web"))
	if err != nil {
		framework.Failf("%v", err)
	}
	// A condition left from the first rollout must not pass for the stall:
	// start from the rollout reported complete.
	if _, err := dw.Until(ctx, framework.ProgramTimeout, func(time.Time) bool {
		c := progressing(dw.Get(d.Name))
		return c != nil && c.Status == corev1.ConditionTrue
	}); err != nil {
		framework.Failf("Deployment %s (progressDeadlineSeconds %d) rolled out: want condition Progressing=True within %s, got %s (%v)", d.Name, deadline, framework.ProgramTimeout, deploymentStatus(dw.Get(d.Name)), err)
	}

	start := time.Now()
	updateDeployment(ctx, f, d.Name, func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = missingImage })
	at, err := dw.Until(ctx, limit, func(time.Time) bool {
		c := progressing(dw.Get(d.Name))
		return c != nil && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded"
	})
	if err != nil {
		framework.Failf("Deployment %s (progressDeadlineSeconds %d) updated to image %s that cannot run: want condition Progressing=False reason ProgressDeadlineExceeded within %s, got %s (pods: %s; %v)",
			d.Name, deadline, missingImage, limit, deploymentStatus(dw.Get(d.Name)), f.PodsNow(ctx, selectorOf("web")), err)
	}
	framework.Measure("time to ProgressDeadlineExceeded", at.Sub(start).Seconds(), "s")

	got, err := batch(ctx, f, client, framework.ServiceURL(svc, "/hostname"), 20)
	var strangers []string
	for name := range got.Backends {
		if !slices.Contains(framework.Names(oldPods), name) {
			strangers = append(strangers, name)
		}
	}
	if err != nil || got.Failed > 0 || got.OK == 0 || len(strangers) > 0 {
		framework.Failf("%s from %s while Deployment %s was stalled: want every request answered by the old pods %s, got %s, answered by %s (%v)",
			framework.DescribeService(svc), framework.DescribePod(client), d.Name, framework.PodsOnNodes(oldPods), got, wire.Counts(got.Backends), err)
	}
}

func progressing(d *appsv1.Deployment) *appsv1.DeploymentCondition {
	if d == nil {
		return nil
	}
	for i := range d.Status.Conditions {
		if d.Status.Conditions[i].Type == appsv1.DeploymentProgressing {
			return &d.Status.Conditions[i]
		}
	}
	return nil
}
