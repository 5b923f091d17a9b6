package controlplane

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"

	"github.com/kubeproof/kubeproof/chaos"
	"github.com/kubeproof/kubeproof/chaos/faults"
	"github.com/kubeproof/kubeproof/chaos/journal"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/suites/contract"
	"github.com/kubeproof/kubeproof/suites/framework"
)

// outageHold is how long the work a stopped component owns must stay
// undone: a running scheduler binds a pod, and a running ReplicaSet
// controller replaces a deleted pod, well within a second.
const outageHold = 5 * time.Second

// stopped is one control-plane component stopped by the check: where, its
// leader Lease as it was, and how to start it again.
type stopped struct {
	component, node string
	entry           journal.Entry
	leases          *framework.Tracker[*coordinationv1.Lease]
	// holder held the Lease before the stop; duration is its
	// leaseDurationSeconds.
	holder   string
	duration time.Duration
	// restarted is when the check put the manifest back; zero until then.
	restarted time.Time
}

// stopComponent stops the component through the component-stop fault
// (journalled, undone in the spec's cleanup whatever happens) and returns
// once its container no longer runs. Where the fault cannot be planned
// (not kind, no consent for a control-plane node, no static pod) the
// check is not checked, saying why.
func stopComponent(ctx context.Context, f *framework.Framework, component string) *stopped {
	ginkgo.GinkgoHelper()
	node := staticPodNode(ctx, f, component)
	s := &stopped{component: component, node: node, duration: defaultLeaseDuration}
	if component == "kube-apiserver" {
		// No leader Lease; and no watch is to span its outage.
		return s.stop(ctx, f)
	}
	s.leases = framework.Follow(ctx, "Lease kube-system/"+component, f.Client.CoordinationV1().Leases("kube-system"),
		metav1.ListOptions{FieldSelector: "metadata.name=" + component}, func(l *coordinationv1.LeaseList) []*coordinationv1.Lease { return framework.Ptrs(l.Items) })
	if l := s.leases.Get(component); l != nil {
		s.holder = ptr.Deref(l.Spec.HolderIdentity, "")
		if d := ptr.Deref(l.Spec.LeaseDurationSeconds, 0); d > 0 {
			s.duration = time.Duration(d) * time.Second
		}
	}
	return s.stop(ctx, f)
}

func (s *stopped) stop(ctx context.Context, f *framework.Framework) *stopped {
	ginkgo.GinkgoHelper()
	component, node := s.component, s.node
	target := faults.TargetFor(ctx, f.Client, framework.Context.Kubeconfig, framework.Context.KindCluster)
	fault, err := faults.Plan(ctx, target, faults.Request{Kind: chaos.ComponentStop, Node: node, Component: component,
		AllowDisruptive: framework.Context.AllowDisruptive, AllowControlPlane: framework.Context.AllowControlPlane})
	switch {
	case errors.Is(err, faults.ErrUnsafe):
		ginkgo.Skip(fmt.Sprintf("not checked: stopping %s on node %s %v", component, node, err))
	case err != nil:
		framework.Failf("stop %s on node %s: want the fault planned, got %v", component, node, err)
	}
	ginkgo.AddReportEntry(contract.EntryTargets, []string{node})
	fmt.Fprintf(ginkgo.GinkgoWriter, "plan: %s, in cluster %s (server %s)\n", fault.Describe(), target.Cluster, target.Server)
	began := time.Now()
	s.entry, err = faults.Inject(ctx, framework.RunID(), target, fault)
	ginkgo.DeferCleanup(func(ctx context.Context) {
		// Registered right after injecting: whatever happens next, the
		// component runs again; a restart already done counts as done.
		if !s.restarted.IsZero() {
			return
		}
		if err := faults.Revert(context.WithoutCancel(ctx), s.entry); err != nil {
			fmt.Fprintf(ginkgo.GinkgoWriter, "cleanup: %v (run `kubeproof chaos revert`)\n", err)
		}
	})
	if err != nil {
		framework.Failf("stop %s on node %s: %v", component, node, err)
	}
	framework.Measure(component+" stop (manifest moved to container gone)", time.Since(began).Seconds(), "s")
	return s
}

// staticPodNode is the node whose kubelet runs the component as a static
// pod (its mirror pod in kube-system); none means the cluster's control
// plane is out of reach, as managed ones are: not checked.
func staticPodNode(ctx context.Context, f *framework.Framework, component string) string {
	ginkgo.GinkgoHelper()
	pods, err := f.Client.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "component=" + component})
	if err != nil {
		framework.Failf("find %s's static pod: list pods in kube-system: %v", component, err)
	}
	for _, p := range pods.Items {
		if _, mirror := p.Annotations[corev1.MirrorPodAnnotationKey]; mirror && p.Name == component+"-"+p.Spec.NodeName {
			return p.Spec.NodeName
		}
	}
	ginkgo.Skip(fmt.Sprintf("not checked: no static pod kube-system/%s-<node>: this cluster's kubelets do not run its %s (a managed control plane)", component, component))
	return ""
}

// restart puts the manifest back and returns once the component's
// container runs again.
func (s *stopped) restart(ctx context.Context) {
	ginkgo.GinkgoHelper()
	s.restarted = time.Now()
	if err := faults.Revert(context.WithoutCancel(ctx), s.entry); err != nil {
		framework.Failf("restart %s on node %s: %v", s.component, s.node, err)
	}
	framework.Measure(s.component+" start (manifest back to container running)", time.Since(s.restarted).Seconds(), "s")
}

// leaseTaken waits until a holder other than the one before the stop
// holds the Lease, and measures it from the restart. The bound is the
// Lease's duration (a holder that did not release it keeps it that long)
// and ProgramTimeout.
func (s *stopped) leaseTaken(ctx context.Context) {
	ginkgo.GinkgoHelper()
	bound := s.duration + framework.ProgramTimeout
	holder := func() string {
		if l := s.leases.Get(s.component); l != nil {
			return ptr.Deref(l.Spec.HolderIdentity, "")
		}
		return ""
	}
	at, err := s.leases.Until(ctx, bound, func(time.Time) bool { h := holder(); return h != "" && h != s.holder })
	if err != nil {
		framework.Failf("Lease kube-system/%s: want it taken by the restarted %s within %s of its restart (leaseDurationSeconds %s + %s), got holder %q, the one before the stop (%v)%s",
			s.component, s.component, bound, s.duration, framework.ProgramTimeout, holder(), err, framework.CutShort(ctx))
	}
	framework.Measure("restart to "+s.component+" Lease taken", at.Sub(s.restarted).Seconds(), "s")
}

// held watches for outageHold that the work the stopped component owns
// is not done: done says whether it was, and what was seen.
func held[T framework.Object](ctx context.Context, t *framework.Tracker[T], done func() (bool, string)) (bool, string) {
	ginkgo.GinkgoHelper()
	seen := ""
	at, err := t.Until(ctx, outageHold, func(time.Time) bool {
		var ok bool
		ok, seen = done()
		return ok
	})
	switch {
	case err == nil && !at.IsZero():
		return false, seen
	case err != nil && !strings.Contains(err.Error(), "timed out"):
		framework.Failf("%v", err)
	}
	return true, ""
}

func schedulerOutage(ctx context.Context, f *framework.Framework) {
	s := stopComponent(ctx, f, "kube-scheduler")
	const name = "unscheduled"
	pods := framework.WatchPods(ctx, f, "")
	framework.Create(ctx, f, f.Pods(), framework.ServerPod(framework.Server{Name: name}))
	bound := func() (bool, string) {
		p := pods.Get(name)
		if p == nil || p.Spec.NodeName == "" {
			return false, ""
		}
		return true, "bound to node " + p.Spec.NodeName
	}
	if ok, seen := held(ctx, pods, bound); !ok {
		framework.Failf("pod %s/%s: want it unscheduled while kube-scheduler is stopped on %s (watched for %s), got it %s: something else schedules for the default scheduler",
			f.Namespace, name, s.node, outageHold, seen)
	}
	s.restart(ctx)
	s.leaseTaken(ctx)
	at, err := pods.Until(ctx, framework.ProgramTimeout, func(time.Time) bool { ok, _ := bound(); return ok })
	if err != nil {
		framework.Failf("pod %s/%s: want it scheduled within %s of kube-scheduler's Lease taken, got %s (%v)%s",
			f.Namespace, name, framework.ProgramTimeout, pendingWhy(pods.Get(name)), err, framework.CutShort(ctx))
	}
	framework.Measure("restart to the waiting pod scheduled", at.Sub(s.restarted).Seconds(), "s")
}

// pendingWhy is a pod's scheduling state, for a failure line.
func pendingWhy(p *corev1.Pod) string {
	if p == nil {
		return "the pod gone"
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled {
			return fmt.Sprintf("Pending, PodScheduled %s %s %s", c.Status, c.Reason, c.Message)
		}
	}
	return "Pending, no PodScheduled condition: no scheduler has acted on it"
}

func controllerManagerOutage(ctx context.Context, f *framework.Framework) {
	const app = "kept"
	pods := framework.WatchPods(ctx, f, "app="+app)
	labels := framework.RunLabels()
	labels["app"] = app
	rs := framework.Create(ctx, f, f.Client.AppsV1().ReplicaSets(f.Namespace), &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: app},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(int32(1)), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: framework.ServerPod(framework.Server{}).Spec}},
	})
	if _, err := pods.Until(ctx, framework.PodStartTimeout, func(time.Time) bool { return readyCount(pods) == 1 }); err != nil {
		framework.Failf("ReplicaSet %s/%s: want its pod Ready within %s, got pods %s (%v)%s", f.Namespace, rs.Name, framework.PodStartTimeout, podNames(pods), err, framework.CutShort(ctx))
	}
	victim := pods.Objects()[0]
	s := stopComponent(ctx, f, "kube-controller-manager")
	if err := f.Client.CoreV1().Pods(f.Namespace).Delete(ctx, victim.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		framework.Failf("delete pod %s/%s: %v", f.Namespace, victim.Name, err)
	}
	replaced := func() (bool, string) {
		for _, p := range pods.Objects() {
			if p.UID != victim.UID {
				return true, "replacement " + p.Name
			}
		}
		return false, ""
	}
	if ok, seen := held(ctx, pods, replaced); !ok {
		framework.Failf("ReplicaSet %s/%s: want its deleted pod %s not replaced while kube-controller-manager is stopped on %s (watched for %s), got %s: something else runs the ReplicaSet controller",
			f.Namespace, rs.Name, victim.Name, s.node, outageHold, seen)
	}
	s.restart(ctx)
	s.leaseTaken(ctx)
	at, err := pods.Until(ctx, framework.ProgramTimeout, func(time.Time) bool { ok, _ := replaced(); return ok })
	if err != nil {
		framework.Failf("ReplicaSet %s/%s: want its deleted pod %s replaced within %s of kube-controller-manager's Lease taken, got pods %s (%v)%s",
			f.Namespace, rs.Name, victim.Name, framework.ProgramTimeout, podNames(pods), err, framework.CutShort(ctx))
	}
	framework.Measure("restart to the deleted pod replaced", at.Sub(s.restarted).Seconds(), "s")
}

func readyCount(pods *framework.Tracker[*corev1.Pod]) int {
	n := 0
	for _, p := range pods.Objects() {
		if p.DeletionTimestamp == nil && kube.PodReady(p) {
			n++
		}
	}
	return n
}

// podNames lists the pods with their UID's tail, which tells a
// replacement from the pod it replaces.
func podNames(pods *framework.Tracker[*corev1.Pod]) string {
	var out []string
	for _, p := range pods.Objects() {
		state := string(p.Status.Phase)
		if p.DeletionTimestamp != nil {
			state = "deleting"
		}
		out = append(out, fmt.Sprintf("%s (%s, uid …%s)", p.Name, state, uidTail(p.UID)))
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

func uidTail(u types.UID) string {
	s := string(u)
	return s[max(0, len(s)-6):]
}

// restartBurst is how many ConfigMaps the API server restart check
// writes before the stop, and updates after the restart.
const restartBurst = 5

func apiServerOutage(ctx context.Context, f *framework.Framework) {
	api := f.Client.CoreV1().ConfigMaps(f.Namespace)
	opts := metav1.ListOptions{LabelSelector: burstLabel + "=restart"}
	list, err := api.List(ctx, opts)
	if err != nil {
		framework.Failf("list ConfigMaps of namespace %s: %v", f.Namespace, err)
	}
	opts.ResourceVersion = list.ResourceVersion
	w, err := api.Watch(ctx, opts)
	if err != nil {
		framework.Failf("watch ConfigMaps of namespace %s: %v", f.Namespace, err)
	}
	defer w.Stop()
	cms := make([]*corev1.ConfigMap, restartBurst)
	for i := range cms {
		cms[i] = framework.Create(ctx, f, api, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("restart-%02d", i), Labels: map[string]string{burstLabel: "restart"}},
			Data: map[string]string{"step": "before"}})
	}
	before, err := read(ctx, w, restartBurst)
	if err != nil {
		framework.Failf("watch of ConfigMaps in namespace %s: want the %d creates before the API server's stop, got %d events (%v)", f.Namespace, restartBurst, len(before), err)
	}
	w.Stop()

	probe := startProbe(ctx, f)
	s := stopComponent(ctx, f, "kube-apiserver")
	s.restart(ctx)
	bound := framework.PodStartTimeout
	up, err := probe.upAfter(ctx, s.restarted, bound)
	if err != nil {
		framework.Failf("kube-apiserver on %s: want /readyz to answer 200 within %s of its restart, got %v", s.node, bound, err)
	}
	framework.Measure("API unavailable (last /readyz 200 before the stop to the first after)", up.Sub(probe.lastUpBefore(s.restarted)).Seconds(), "s")
	framework.Measure("restart to /readyz 200", up.Sub(s.restarted).Seconds(), "s")

	// The changes after the restart, and the watch resumed from the last
	// event read before the stop: it must deliver them, or answer 410
	// Gone, which tells a client to list again; the list must then hold
	// every change.
	var want []change
	for i, c := range cms {
		c.Data["step"] = "after"
		if cms[i], err = api.Update(ctx, c, metav1.UpdateOptions{}); err != nil {
			framework.Failf("update ConfigMap %s/%s after the API server's restart: %v", f.Namespace, c.Name, err)
		}
		want = append(want, change{watch.Modified, c.Name, "after"})
	}
	opts.ResourceVersion = before[len(before)-1].rv
	resumed, gone := resumeWatch(ctx, f, api, opts, len(want))
	if gone != "" {
		framework.Measure("watch resumed from its resourceVersion (1) or told to list again, 410 Gone (0)", 0, "")
		relisted, err := api.List(ctx, metav1.ListOptions{LabelSelector: opts.LabelSelector})
		if err != nil {
			framework.Failf("list ConfigMaps of namespace %s after 410 Gone: %v", f.Namespace, err)
		}
		var got []string
		for _, c := range relisted.Items {
			got = append(got, c.Name+"="+c.Data["step"])
		}
		for i, c := range want {
			if i >= len(relisted.Items) || relisted.Items[i].Name != c.name || relisted.Items[i].Data["step"] != c.step {
				framework.Failf("ConfigMaps in namespace %s after the API server's restart: the resumed watch said %s; want the list to hold the %d updates, got %s", f.Namespace, gone, len(want), strings.Join(got, ", "))
			}
		}
	} else {
		framework.Measure("watch resumed from its resourceVersion (1) or told to list again, 410 Gone (0)", 1, "")
		if i := firstDifference(want, resumed.changes); i >= 0 || resumed.err != nil {
			framework.Failf("watch of ConfigMaps in namespace %s resumed after the API server's restart from the last event before its stop: want the %d updates written since, each once in write order within %s, got %s",
				f.Namespace, len(want), eventTimeout, describeDifference(want, resumed.changes, i, 0, resumed.err))
		}
	}
	leadersBack(ctx, f, s.node, up)
}

// resumed is what a watch resumed after the restart delivered.
type resumed struct {
	changes []change
	err     error
}

// resumeWatch resumes the watch from opts.ResourceVersion and reads n
// events. gone is set when the API server answers 410 Gone (the
// resourceVersion is older than it keeps), the one answer that lets a
// watch skip changes: the client must list again.
func resumeWatch(ctx context.Context, f *framework.Framework, api interface {
	Watch(context.Context, metav1.ListOptions) (watch.Interface, error)
}, opts metav1.ListOptions, n int) (r resumed, gone string) {
	ginkgo.GinkgoHelper()
	w, err := api.Watch(ctx, opts)
	if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
		return r, "410 Gone: " + err.Error()
	}
	if err != nil {
		framework.Failf("resume the watch of ConfigMaps of namespace %s after the API server's restart: %v", f.Namespace, err)
	}
	defer w.Stop()
	got, err := read(ctx, w, n)
	if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
		return r, "410 Gone: " + err.Error()
	}
	r.err = err
	for _, s := range got {
		r.changes = append(r.changes, s.change)
	}
	return r, ""
}

// leadersBack: the components that lost the API server reconnect. Each
// leader Lease must be renewed after the API server answers again, within
// its duration, the kubelet's crash-loop back-off (a component that lost
// its leadership exits, and fails again while the API server is away) and
// ProgramTimeout. A component whose container, started with the API
// answering, exits is failed at once: it cannot come back by itself.
func leadersBack(ctx context.Context, f *framework.Framework, node string, up time.Time) {
	ginkgo.GinkgoHelper()
	leases := framework.Follow(ctx, "Leases in kube-system", f.Client.CoordinationV1().Leases("kube-system"), metav1.ListOptions{},
		func(l *coordinationv1.LeaseList) []*coordinationv1.Lease { return framework.Ptrs(l.Items) })
	pods := framework.Follow(ctx, "static pods in kube-system", f.Client.CoreV1().Pods("kube-system"), metav1.ListOptions{FieldSelector: "spec.nodeName=" + node},
		func(l *corev1.PodList) []*corev1.Pod { return framework.Ptrs(l.Items) })
	bound := defaultLeaseDuration + kubeletMaxBackOff + framework.ProgramTimeout
	back := map[string]time.Time{}
	exited := map[string]string{}
	done := func() bool { return len(back)+len(exited) == len(leaderLeases) }
	deadline := time.Now().Add(bound)
	var err error
	for !done() && err == nil {
		// Two followers: each waits for the other's next event at most
		// a second, so that neither misses its own for long.
		for _, until := range []func(context.Context, time.Duration, func(time.Time) bool) (time.Time, error){leases.Until, pods.Until} {
			_, werr := until(ctx, min(time.Second, time.Until(deadline)), func(at time.Time) bool {
				for _, name := range leaderLeases {
					if l := leases.Get(name); l != nil && back[name].IsZero() && renewTime(l).After(up) {
						back[name] = at
					}
					if _, ok := back[name]; !ok {
						if why := exitedSince(pods.Get(name+"-"+node), up); why != "" {
							exited[name] = why
						}
					}
				}
				return done()
			})
			if werr != nil && !strings.Contains(werr.Error(), "timed out") {
				err = werr
			}
		}
		if time.Now().After(deadline) {
			err = fmt.Errorf("timed out after %s", bound)
		}
	}
	var late []string
	for _, name := range leaderLeases {
		if at, ok := back[name]; ok {
			framework.Measure("API back to "+name+" Lease renewed", at.Sub(up).Seconds(), "s")
			continue
		}
		last := "never held"
		if l := leases.Get(name); l != nil {
			last = fmt.Sprintf("last renewed %s before the API server answered again, by %s", up.Sub(renewTime(l)).Round(100*time.Millisecond), ptr.Deref(l.Spec.HolderIdentity, ""))
		}
		if why, ok := exited[name]; ok {
			last += "; " + why
		}
		late = append(late, fmt.Sprintf("Lease kube-system/%s %s", name, last))
	}
	if len(late) > 0 {
		if err != nil {
			late = append(late, "("+err.Error()+")")
		}
		framework.Failf("after the API server's restart: want the leader Leases renewed within %s of it answering again (lease duration %s + the kubelet's crash-loop back-off %s + %s), got %s%s",
			bound, defaultLeaseDuration, kubeletMaxBackOff, framework.ProgramTimeout, strings.Join(late, "; "), framework.CutShort(ctx))
	}
}

// kubeletMaxBackOff is the kubelet's longest crash-loop back-off before
// it starts a failed container again.
const kubeletMaxBackOff = 5 * time.Minute

// exitedSince says how the static pod's container ended when it started
// after t and exited with an error, "" otherwise.
func exitedSince(p *corev1.Pod, t time.Time) string {
	if p == nil {
		return ""
	}
	for _, cs := range p.Status.ContainerStatuses {
		for _, st := range []corev1.ContainerState{cs.State, cs.LastTerminationState} {
			if x := st.Terminated; x != nil && x.ExitCode != 0 && x.StartedAt.After(t) {
				return fmt.Sprintf("its container %s/%s, started %.1fs after, exited %d (%s) %.1fs later%s",
					p.Name, cs.Name, x.StartedAt.Sub(t).Seconds(), x.ExitCode, x.Reason, x.FinishedAt.Sub(x.StartedAt.Time).Seconds(), message(x.Message))
			}
		}
	}
	return ""
}

func message(m string) string {
	if m = oneLine(m); m != "" {
		return ": " + m
	}
	return ""
}

// probe asks the API server's /readyz every probeEvery, from before a stop
// until the spec ends, and keeps when it answered 200.
type probe struct {
	mu  sync.Mutex
	ups []time.Time
	// fails are the other answers (errors, other statuses) with their time.
	fails []time.Time
	last  string
}

const probeEvery = 100 * time.Millisecond

func startProbe(ctx context.Context, f *framework.Framework) *probe {
	p := &probe{}
	// A starting API server refuses everyone until its authorizer has
	// loaded the RBAC objects: not the run's permissions at fault.
	pctx, cancel := context.WithCancel(kube.Uncounted(ctx))
	ginkgo.DeferCleanup(cancel)
	go func() {
		tick := time.NewTicker(probeEvery)
		defer tick.Stop()
		for {
			rctx, rcancel := context.WithTimeout(pctx, time.Second)
			code, body, err := f.Client.GetPath(rctx, "/readyz", nil)
			rcancel()
			at := time.Now()
			p.mu.Lock()
			if err == nil && code == 200 {
				p.ups = append(p.ups, at)
			} else {
				p.fails = append(p.fails, at)
				p.last = fmt.Sprintf("HTTP %d %s %v", code, strings.TrimSpace(string(body)), err)
			}
			p.mu.Unlock()
			select {
			case <-pctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

// upAfter waits for the first 200 after t.
func (p *probe) upAfter(ctx context.Context, t time.Time, bound time.Duration) (time.Time, error) {
	deadline := time.Now().Add(bound)
	for {
		p.mu.Lock()
		for _, u := range p.ups {
			if u.After(t) {
				p.mu.Unlock()
				return u, nil
			}
		}
		last := p.last
		p.mu.Unlock()
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("no 200 since, last answer %s", oneLine(last))
		}
		select {
		case <-ctx.Done():
			return time.Time{}, context.Cause(ctx)
		case <-time.After(probeEvery):
		}
	}
}

// lastUpBefore is the last 200 before the first failure preceding t: when
// the API server stopped answering.
func (p *probe) lastUpBefore(t time.Time) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	var firstFail time.Time
	for _, f := range p.fails {
		if f.Before(t) {
			firstFail = f
			break
		}
	}
	var last time.Time
	for _, u := range p.ups {
		if !firstFail.IsZero() && u.After(firstFail) {
			break
		}
		last = u
	}
	return last
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
