package pods

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubeproof/kubeproof/fixtures/meta"
	"github.com/kubeproof/kubeproof/fixtures/wire"
	"github.com/kubeproof/kubeproof/suites/framework"
)

// The resources of pod "limited", whose cgroup is read, and of pod "hog",
// which allocates past its memory limit.
const (
	limitedCPURequest = 50  // millicores
	limitedCPULimit   = 200 // millicores
	limitedMemRequest = "32Mi"
	limitedMemLimit   = "48Mi"
	hogMemLimit       = "48Mi"
	// hogAlloc is what hog tries to allocate: far past its limit, and
	// nothing for a node without one.
	hogAlloc = 256 // MiB
)

// resourcesEnforced runs two pods at once: "limited", with CPU and memory
// requests and limits, whose own cgroup (read from inside it) must hold
// what the kubelet makes of them; and "hog" (restartPolicy Never), which
// allocates hogAlloc MiB under a memory limit of hogMemLimit and must be
// OOM-killed part way, its termination log saying how far it got.
func resourcesEnforced(ctx context.Context, f *framework.Framework) {
	limited := framework.ServerPod(framework.Server{Name: "limited"})
	limited.Spec.Containers[0].Resources = corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: *resource.NewMilliQuantity(limitedCPURequest, resource.DecimalSI), corev1.ResourceMemory: resource.MustParse(limitedMemRequest)},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: *resource.NewMilliQuantity(limitedCPULimit, resource.DecimalSI), corev1.ResourceMemory: resource.MustParse(limitedMemLimit)},
	}
	hog := framework.ServerPod(framework.Server{Name: "hog", NoReadinessProbe: true})
	delete(hog.Annotations, meta.AnnotationAgentPort)
	c := &hog.Spec.Containers[0]
	c.Args = []string{"alloc", fmt.Sprintf("--mib=%d", hogAlloc), "--progress=" + terminationLog}
	c.Ports = nil
	c.Resources = corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(hogMemLimit)}}
	hog.Spec.RestartPolicy = corev1.RestartPolicyNever

	pods := framework.WatchPods(ctx, f, "")
	framework.Create(ctx, f, f.Pods(), limited)
	framework.Create(ctx, f, f.Pods(), hog)

	p := f.WaitPodReady(ctx, limited.Name)
	asked := fmt.Sprintf("requests cpu %dm memory %s, limits cpu %dm memory %s", limitedCPURequest, limitedMemRequest, limitedCPULimit, limitedMemLimit)
	r := f.HTTPGet(ctx, p, fmt.Sprintf("http://localhost:%d/cgroup", wire.HTTPPort), framework.RequestTimeout)
	var cg wire.Cgroup
	if !r.OK || json.Unmarshal([]byte(r.Body), &cg) != nil {
		framework.Failf("pod %s/%s (node %s): want its cgroup's limits read from inside it (GET /cgroup), got %s", f.Namespace, p.Name, p.Spec.NodeName, r)
	}
	if wrong := cgroupProblems(cg); len(wrong) > 0 {
		framework.Failf("pod %s/%s (node %s; %s): want its cgroup (v%d) to hold them as the kubelet applies them, got %s (resources in its spec: %s)",
			f.Namespace, p.Name, p.Spec.NodeName, asked, cg.Version, strings.Join(wrong, "; "), resourcesOf(p))
	}

	bound := framework.PodStartTimeout + framework.ProgramTimeout
	var last *corev1.Pod
	if _, err := pods.Until(ctx, bound, func(time.Time) bool {
		if h := pods.Get(hog.Name); h != nil {
			last = h
		}
		return last != nil && terminated(last) != nil
	}); err != nil {
		framework.Failf("pod %s/hog (memory limit %s) allocating %d MiB: want its container to end (OOM-killed) within %s, got %s (%v)", f.Namespace, hogMemLimit, hogAlloc, bound, describeStops([]string{hog.Name}, map[string]*corev1.Pod{hog.Name: last}), err)
	}
	t := terminated(last)
	allocated := allocatedMiB(t.Message)
	// Killed part way: SIGKILL (137) before it had all it asked for. The
	// runtime's reason is its attribution of the kill: containerd on
	// cgroup v1 can lose the OOM event to the exit and say "Error" (seen
	// once in 3 runs here), which is told, not failed.
	if t.ExitCode != 137 || allocated == "" || allocated == strconv.Itoa(hogAlloc) {
		framework.Failf("pod %s/hog (node %s, memory limit %s) allocating %d MiB: want its container OOM-killed (reason OOMKilled, exit 137) part way, got terminated: %s (exit %d) after allocating %s MiB (resources in its spec: %s)",
			f.Namespace, last.Spec.NodeName, hogMemLimit, hogAlloc, t.Reason, t.ExitCode, orUnknown(allocated), resourcesOf(last))
	}
	if t.Reason != "OOMKilled" {
		framework.Warn("pod %s/hog was killed (exit 137) at its memory limit of %s after allocating %s MiB, but the runtime gave the reason %q, not OOMKilled: what keys on that reason (alerts, kubectl) misses this kill", f.Namespace, hogMemLimit, allocated, t.Reason)
	}
	if n, err := strconv.Atoi(allocated); err == nil {
		framework.Measure(fmt.Sprintf("memory allocated when OOM-killed (limit %s)", hogMemLimit), float64(n), "MiB")
	}
}

// cgroupProblems says what in the cgroup of pod "limited" differs from
// what the kubelet makes of its resources: the memory limit as is; the
// CPU limit as a CFS quota of limit×period; the CPU request as shares
// (request×1024/1000) or, with cgroup v2, the weight the runtime converts
// those shares to (the linear formula of runc before 1.3.2, or the one
// runc and crun use since).
func cgroupProblems(cg wire.Cgroup) []string {
	var out []string
	if want := resource.MustParse(limitedMemLimit); cg.MemoryLimit != want.Value() {
		out = append(out, fmt.Sprintf("memory limit: want %d bytes (%s), got %s", want.Value(), limitedMemLimit, bytesOrUnlimited(cg.MemoryLimit)))
	}
	if cg.CPUPeriod <= 0 {
		out = append(out, fmt.Sprintf("CPU period: want a positive period, got %d", cg.CPUPeriod))
	} else if want := int64(limitedCPULimit) * cg.CPUPeriod / 1000; cg.CPUQuota != want {
		out = append(out, fmt.Sprintf("CPU limit: want a CFS quota of %dµs per %dµs period (%dm), got %s", want, cg.CPUPeriod, limitedCPULimit, quotaOrUnlimited(cg.CPUQuota)))
	}
	shares := max(int64(limitedCPURequest)*1024/1000, 2)
	switch cg.Version {
	case 1:
		if cg.CPUShares != shares {
			out = append(out, fmt.Sprintf("CPU request: want cpu.shares %d (%dm), got %d", shares, limitedCPURequest, cg.CPUShares))
		}
	case 2:
		if weights := sharesToWeight(shares); !slices.Contains(weights, cg.CPUWeight) {
			out = append(out, fmt.Sprintf("CPU request: want cpu.weight %d or %d (shares %d, %dm), got %d", weights[0], weights[1], shares, limitedCPURequest, cg.CPUWeight))
		}
	default:
		out = append(out, fmt.Sprintf("cgroup version: want 1 or 2, got %d", cg.Version))
	}
	return out
}

// sharesToWeight is the cgroup v2 weight a runtime gives for CPU shares:
// the linear mapping, then the one that keeps the default share's weight
// at the default (runc 1.3.2 and later, crun 1.23 and later).
func sharesToWeight(shares int64) []int64 {
	linear := 1 + ((shares-2)*9999)/262142
	l := math.Log2(float64(shares))
	quadratic := int64(math.Ceil(math.Pow(10, (l*l+125*l)/612.0-7.0/34.0)))
	return []int64{linear, quadratic}
}

func bytesOrUnlimited(v int64) string {
	if v < 0 {
		return "no limit"
	}
	return fmt.Sprintf("%d bytes", v)
}

func quotaOrUnlimited(v int64) string {
	if v < 0 {
		return "no quota (the CPU limit is not enforced)"
	}
	return fmt.Sprintf("%dµs", v)
}

// allocatedMiB reads the "allocated=N" a workload alloc left as its
// termination message, "" when there is none.
func allocatedMiB(msg string) string {
	_, n, _ := strings.Cut(strings.TrimSpace(msg), "allocated=")
	return n
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown number of"
	}
	return s
}

// resourcesOf is the first container's resources as the API holds them.
func resourcesOf(p *corev1.Pod) string {
	r := p.Spec.Containers[0].Resources
	if len(r.Requests) == 0 && len(r.Limits) == 0 {
		return "none"
	}
	return fmt.Sprintf("requests %s, limits %s", list(r.Requests), list(r.Limits))
}

func list(l corev1.ResourceList) string {
	if len(l) == 0 {
		return "none"
	}
	var parts []string
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if q, ok := l[name]; ok {
			parts = append(parts, fmt.Sprintf("%s %s", name, q.String()))
		}
	}
	return strings.Join(parts, " ")
}
