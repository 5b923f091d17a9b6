package controlplane

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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
	s.leases = framework.Follow(ctx, "Lease kube-system/"+component, f.Client.CoordinationV1().Leases("kube-system"),
		metav1.ListOptions{FieldSelector: "metadata.name=" + component}, func(l *coordinationv1.LeaseList) []*coordinationv1.Lease { return framework.Ptrs(l.Items) })
	if l := s.leases.Get(component); l != nil {
		s.holder = ptr.Deref(l.Spec.HolderIdentity, "")
		if d := ptr.Deref(l.Spec.LeaseDurationSeconds, 0); d > 0 {
			s.duration = time.Duration(d) * time.Second
		}
	}
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
