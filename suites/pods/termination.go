package pods

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/kubeproof/kubeproof/fixtures/wire"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/suites/framework"
)

const (
	// gracefulGrace is the grace period of the pod that stops on SIGTERM:
	// the default, far more than it needs.
	gracefulGrace = 30
	// stubbornGrace is the grace period of the pod that ignores SIGTERM
	// (it drains for a minute): the kubelet must kill it then, not sooner.
	stubbornGrace = 2
	// terminationLog is where the workload writes when its preStop hook
	// and SIGTERM came; the kubelet makes it the termination message.
	terminationLog = "/dev/termination-log"
)

// terminatesGracefully deletes two pods at once: "graceful", whose preStop
// hook (an HTTP GET the workload records) must be called before SIGTERM,
// after which it exits 0; and "stubborn", which keeps serving after
// SIGTERM and must be killed when its grace period ends, not before. Both
// write when the hook and the signal came as their termination message.
func terminatesGracefully(ctx context.Context, f *framework.Framework) {
	graceful := framework.ServerPod(framework.Server{Name: "graceful"})
	c := &graceful.Spec.Containers[0]
	c.Args = append(c.Args, "--termination-log="+terminationLog)
	c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/prestop", Port: intstr.FromInt32(wire.HTTPPort)}}}
	graceful.Spec.TerminationGracePeriodSeconds = ptr.To(int64(gracefulGrace))
	stubborn := framework.ServerPod(framework.Server{Name: "stubborn", ShutdownDelay: 60})
	stubborn.Spec.Containers[0].Args = append(stubborn.Spec.Containers[0].Args, "--termination-log="+terminationLog)
	stubborn.Spec.TerminationGracePeriodSeconds = ptr.To(int64(stubbornGrace))

	pods := framework.WatchPods(ctx, f, "")
	framework.Create(ctx, f, f.Pods(), graceful)
	framework.Create(ctx, f, f.Pods(), stubborn)
	names := []string{graceful.Name, stubborn.Name}
	if _, err := pods.Until(ctx, framework.PodStartTimeout, func(time.Time) bool {
		return allReady(pods, names)
	}); err != nil {
		framework.Failf("pods graceful and stubborn in namespace %s: want both Ready within %s, got %s (%v)", f.Namespace, framework.PodStartTimeout, framework.DescribePods(pods.Objects()), err)
	}

	deleted := time.Now()
	for _, name := range names {
		if err := f.Client.CoreV1().Pods(f.Namespace).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			framework.Failf("delete pod %s/%s: %v", f.Namespace, name, err)
		}
	}
	// The kubelet writes a stopped container's status before it removes
	// the pod: the last state seen of each, and when it showed the stop.
	last := map[string]*corev1.Pod{}
	stopped := map[string]time.Time{}
	gone := map[string]bool{}
	bound := time.Duration(gracefulGrace)*time.Second + framework.ProgramTimeout
	_, err := pods.Until(ctx, bound, func(at time.Time) bool {
		for _, name := range names {
			p := pods.Get(name)
			if p != nil {
				last[name] = p
			}
			if stopped[name].IsZero() && (p == nil || terminated(p) != nil) {
				stopped[name], gone[name] = at, p == nil
			}
		}
		return len(stopped) == len(names)
	})
	if err != nil {
		framework.Failf("pods graceful (grace %ds) and stubborn (grace %ds) in namespace %s deleted: want each container's stop in their status within %s, got %s (%v)",
			gracefulGrace, stubbornGrace, f.Namespace, bound, describeStops(names, last), err)
	}

	for _, name := range names {
		if gone[name] && terminated(last[name]) == nil {
			framework.Failf("pod %s/%s deleted: want its container's stop (exit code, termination message) in its status before the pod is removed, got the pod gone while its status said %s",
				f.Namespace, name, describeStops([]string{name}, last))
		}
	}

	// graceful: preStop, then SIGTERM, then exit 0.
	g := terminated(last[graceful.Name])
	prestop, sigterm, perr := parseTermination(g.Message)
	switch {
	case perr != nil:
		framework.Failf("pod %s/graceful deleted: want its termination message to say when its preStop hook and SIGTERM came, got %q (%v)", f.Namespace, g.Message, perr)
	case prestop.IsZero():
		framework.Failf("pod %s/graceful deleted: want its preStop hook (GET /prestop) called before SIGTERM, got no preStop call (SIGTERM at %s; pod lifecycle %s)",
			f.Namespace, sigterm.Format("15:04:05.000"), lifecycleOf(last[graceful.Name]))
	case sigterm.Before(prestop):
		framework.Failf("pod %s/graceful deleted: want its preStop hook called before SIGTERM, got SIGTERM at %s and the hook at %s", f.Namespace, sigterm.Format("15:04:05.000"), prestop.Format("15:04:05.000"))
	case g.ExitCode != 0:
		framework.Failf("pod %s/graceful deleted: want its container to exit 0 on SIGTERM within its grace period (%ds), got %s", f.Namespace, gracefulGrace, describeStops([]string{graceful.Name}, last))
	}
	framework.Measure("preStop hook to SIGTERM", sigterm.Sub(prestop).Seconds(), "s")
	framework.Measure("deletion to container stopped (exits on SIGTERM)", stopped[graceful.Name].Sub(deleted).Seconds(), "s")

	// stubborn: SIGTERM, then SIGKILL when the grace period is over.
	s := terminated(last[stubborn.Name])
	took := stopped[stubborn.Name].Sub(deleted)
	_, term, serr := parseTermination(s.Message)
	switch {
	case serr != nil || term.IsZero():
		framework.Failf("pod %s/stubborn deleted: want SIGTERM first (its termination message says when), got message %q (%v)", f.Namespace, s.Message, serr)
	case took < stubbornGrace*time.Second:
		framework.Failf("pod %s/stubborn (ignores SIGTERM) deleted: want it killed no sooner than its grace period, %ds, got its container stopped %.1fs after the deletion (%s; grace in its spec: %ds)",
			f.Namespace, stubbornGrace, took.Seconds(), describeStops([]string{stubborn.Name}, last), ptr.Deref(last[stubborn.Name].Spec.TerminationGracePeriodSeconds, -1))
	case s.ExitCode != 137:
		framework.Failf("pod %s/stubborn (ignores SIGTERM) deleted: want it killed (exit 137) when its grace period of %ds ended, got %s", f.Namespace, stubbornGrace, describeStops([]string{stubborn.Name}, last))
	}
	framework.Measure(fmt.Sprintf("deletion to container killed (ignores SIGTERM, grace %ds)", stubbornGrace), took.Seconds(), "s")
}

func allReady(pods *framework.Tracker[*corev1.Pod], names []string) bool {
	for _, n := range names {
		if p := pods.Get(n); p == nil || !kube.PodReady(p) {
			return false
		}
	}
	return true
}

// terminated is the pod's first container's terminated state, nil while
// it runs.
func terminated(p *corev1.Pod) *corev1.ContainerStateTerminated {
	if len(p.Status.ContainerStatuses) == 0 {
		return nil
	}
	return p.Status.ContainerStatuses[0].State.Terminated
}

// parseTermination reads "prestop=T sigterm=T" (the workload's
// --termination-log); a zero prestop means the hook never came.
func parseTermination(msg string) (prestop, sigterm time.Time, err error) {
	for _, field := range strings.Fields(msg) {
		k, v, _ := strings.Cut(field, "=")
		var t time.Time
		if v != "none" {
			if t, err = time.Parse(time.RFC3339Nano, v); err != nil {
				return prestop, sigterm, err
			}
		}
		switch k {
		case "prestop":
			prestop = t
		case "sigterm":
			sigterm = t
		}
	}
	if sigterm.IsZero() {
		return prestop, sigterm, fmt.Errorf("no sigterm= in it")
	}
	return prestop, sigterm, nil
}

func lifecycleOf(p *corev1.Pod) string {
	if l := p.Spec.Containers[0].Lifecycle; l != nil && l.PreStop != nil {
		return "has a preStop hook"
	}
	return "has no preStop hook"
}

// describeStops says where each pod's container stood when last seen.
func describeStops(names []string, last map[string]*corev1.Pod) string {
	var parts []string
	for _, n := range names {
		p := last[n]
		if p == nil || len(p.Status.ContainerStatuses) == 0 {
			parts = append(parts, n+": no status seen")
			continue
		}
		parts = append(parts, fmt.Sprintf("%s: %s", n, state(p.Status.ContainerStatuses[0])))
	}
	return strings.Join(parts, "; ")
}
