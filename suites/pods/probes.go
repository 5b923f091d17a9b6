package pods

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubeproof/kubeproof/fixtures"
	"github.com/kubeproof/kubeproof/fixtures/wire"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/suites/framework"
)

// hold is how long the probe check watches for a restart that must not
// come: two failed probes of a 1 s period, and a margin.
const hold = 2500 * time.Millisecond

// restartTimeout bounds a liveness restart: the probes' 1 s period and
// threshold of 1, the 1 s grace period and the kubelet's restart, many
// times over for a loaded machine.
const restartTimeout = 30 * time.Second

// probesAct runs two pods: "probed" with readiness and liveness probes
// behind a Service, "starting" whose startup probe fails until told
// otherwise. Readiness off: probed leaves the ready endpoints and is not
// restarted; liveness off in starting before it started: not restarted
// either; then liveness off in probed, and starting allowed to start:
// both restarted, and probed serves again.
func probesAct(ctx context.Context, f *framework.Framework) {
	probe := func(path string) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromInt32(wire.HTTPPort)}},
			PeriodSeconds: 1, FailureThreshold: 1}
	}
	probed := framework.ServerPod(framework.Server{Name: "probed", Labels: map[string]string{"app": "probed"}})
	probed.Spec.Containers[0].LivenessProbe = probe("/healthz")
	starting := framework.ServerPod(framework.Server{Name: "starting"})
	c := &starting.Spec.Containers[0]
	c.Args = append(c.Args, "--ready=false")
	c.LivenessProbe = probe("/healthz")
	c.StartupProbe = probe("/readyz")
	c.StartupProbe.FailureThreshold = 300

	pods := framework.WatchPods(ctx, f, "")
	svc := framework.Create(ctx, f, f.Services(), fixtures.HTTPService("probed"))
	slices := framework.WatchSlices(ctx, f, svc)
	framework.Create(ctx, f, f.Pods(), probed)
	framework.Create(ctx, f, f.Pods(), starting)
	if _, err := pods.Until(ctx, framework.PodStartTimeout, func(time.Time) bool {
		p, s := pods.Get("probed"), pods.Get("starting")
		return p != nil && kube.PodReady(p) && s != nil && running(s)
	}); err != nil {
		framework.Failf("pods probed and starting in namespace %s: want probed Ready and starting's container running within %s, got %s (%v)",
			f.Namespace, framework.PodStartTimeout, framework.DescribePods(pods.Objects()), err)
	}
	if _, err := slices.Until(ctx, framework.ProgramTimeout, func(time.Time) bool { return listed(slices, "probed") == "ready" }); err != nil {
		framework.Failf("%s: want pod probed a ready endpoint within %s, got it %s (%v)", framework.DescribeService(svc), framework.ProgramTimeout, listed(slices, "probed"), err)
	}
	p, s := pods.Get("probed"), pods.Get("starting")
	toggle(ctx, f, s, "/healthz/off")
	toggle(ctx, f, p, "/ready/off")
	off := time.Now()
	at, err := slices.Until(ctx, framework.ProgramTimeout, func(time.Time) bool { return listed(slices, "probed") != "ready" })
	if err != nil {
		framework.Failf("%s: want pod probed out of the ready endpoints within %s of its readiness probe failing, got it still ready (%v)", framework.DescribeService(svc), framework.ProgramTimeout, err)
	}
	framework.Measure("unlisted after the readiness probe failed", at.Sub(off).Seconds(), "s")
	var restarted string
	_, _ = pods.Until(ctx, hold, func(time.Time) bool {
		for _, name := range []string{"probed", "starting"} {
			if pod := pods.Get(name); pod == nil || restarts(pod) > 0 {
				restarted = name
				return true
			}
		}
		return false
	})
	switch restarted {
	case "probed":
		framework.Failf("pod %s/probed: want it not restarted while only its readiness probe failed, got %s", f.Namespace, framework.PodState(pods.Get("probed")))
	case "starting":
		framework.Failf("pod %s/starting: want it not restarted while its startup probe had not succeeded (liveness failing), got %s", f.Namespace, framework.PodState(pods.Get("starting")))
	}

	toggle(ctx, f, p, "/healthz/off")
	toggle(ctx, f, s, "/ready/on")
	off = time.Now()
	done := map[string]time.Time{}
	_, err = pods.Until(ctx, restartTimeout, func(at time.Time) bool {
		for _, name := range []string{"probed", "starting"} {
			if pod := pods.Get(name); pod != nil && restarts(pod) > 0 && done[name].IsZero() {
				done[name] = at
			}
		}
		return len(done) == 2
	})
	for _, name := range []string{"probed", "starting"} {
		if done[name].IsZero() {
			why := map[string]string{"probed": "its liveness probe failing", "starting": "its startup probe succeeding with its liveness probe failing"}[name]
			framework.Failf("pod %s/%s: want its container restarted within %s of %s (period 1s, threshold 1, grace 1s), got %s (%v)",
				f.Namespace, name, restartTimeout, why, describe(pods.Get(name)), err)
		}
	}
	framework.Measure("restarted after the liveness probe failed", done["probed"].Sub(off).Seconds(), "s")
	framework.Measure("restarted after the startup probe succeeded, liveness failing", done["starting"].Sub(off).Seconds(), "s")
	again, err := slices.Until(ctx, framework.ProgramTimeout, func(time.Time) bool { return listed(slices, "probed") == "ready" })
	if err != nil {
		framework.Failf("%s: want pod probed a ready endpoint again within %s of its restart, got it %s (pod %s) (%v)",
			framework.DescribeService(svc), framework.ProgramTimeout, listed(slices, "probed"), describe(pods.Get("probed")), err)
	}
	framework.Measure("a ready endpoint again after the liveness restart", again.Sub(done["probed"]).Seconds(), "s")
}

// toggle asks a pod's server to switch a probe's answer, from inside it.
func toggle(ctx context.Context, f *framework.Framework, p *corev1.Pod, path string) {
	if r := get(ctx, f, p, "workload", fmt.Sprintf("http://localhost:%d%s", wire.HTTPPort, path)); !r.OK {
		framework.Failf("pod %s/%s: GET %s from inside it: want an answer, got %s", p.Namespace, p.Name, path, r)
	}
}

func running(p *corev1.Pod) bool {
	return len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].State.Running != nil
}

func restarts(p *corev1.Pod) int32 {
	if len(p.Status.ContainerStatuses) == 0 {
		return 0
	}
	return p.Status.ContainerStatuses[0].RestartCount
}

// describe is where a pod and its container stand: "Ready, container
// running (restarts 0)".
func describe(p *corev1.Pod) string {
	if p == nil || len(p.Status.ContainerStatuses) == 0 {
		return framework.PodState(p)
	}
	ready := "not Ready"
	if kube.PodReady(p) {
		ready = "Ready"
	}
	return ready + ", container " + state(p.Status.ContainerStatuses[0])
}

// listed says how the Service's slices list a pod: "ready", "not ready"
// or "absent".
func listed(slices *framework.Tracker[*discoveryv1.EndpointSlice], pod string) string {
	for _, s := range slices.Objects() {
		for _, e := range s.Endpoints {
			if e.TargetRef != nil && e.TargetRef.Name == pod {
				if framework.EndpointReady(e) {
					return "ready"
				}
				return "not ready"
			}
		}
	}
	return "absent"
}
