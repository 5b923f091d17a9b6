package pods

import (
	"github.com/onsi/ginkgo/v2"

	"github.com/kubeproof/kubeproof/suites/contract"
	"github.com/kubeproof/kubeproof/suites/framework"
)

// The checks of this area, one line each; their bodies live in
// containers.go, probes.go, jobs.go, termination.go, downward.go and resources.go.
var _ = framework.Describe("pods", contract.AreaPods, func() {
	f := framework.New("pods")

	framework.Check("containers of a pod share localhost and an emptyDir, after their init containers ran in order",
		"The init containers of a pod MUST each run to completion, in order, before its app containers start; the pod's containers MUST share one network namespace (one reaches another on localhost) and an emptyDir volume (each sees what the others wrote).",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { containersShare(ctx, f) })

	framework.Check("probes: liveness restarts, readiness only unlists, startup holds both",
		"A failing readiness probe MUST take the pod out of its Service's ready endpoints without restarting it; a failing liveness probe MUST restart the container within its period, threshold and grace period (measured), after which it serves again; while a startup probe has not succeeded, a failing liveness probe MUST NOT restart the container.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { probesAct(ctx, f) })

	framework.Check("a Job completes through its sidecar, which starts first and stops last",
		"A Job of 2 completions whose pods have a sidecar (a restartable init container) MUST complete: in each pod the sidecar MUST be running before the app container starts (the app reaches it on localhost), and MUST be stopped after the app container exits, the pod ending Succeeded.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { jobWithSidecar(ctx, f) })

	framework.Check("a Job's retries count against its backoffLimit",
		"A Job's container that fails once and then succeeds MUST be restarted in place (restartPolicy OnFailure) and its Job (backoffLimit 2) MUST complete with that one pod; with backoffLimit 0 a Job whose container always fails MUST be marked Failed (BackoffLimitExceeded) after the container's first restart (OnFailure) or its first failed pod (Never), and with Never no second pod MUST be made.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { jobsRetry(ctx, f) })

	framework.Check("a deleted pod's preStop hook runs before SIGTERM, and its grace period bounds the stop",
		"When a pod is deleted, its container's preStop hook MUST be called before the container gets SIGTERM, and a container that exits on SIGTERM MUST then stop (exit 0; measured); a container that ignores SIGTERM MUST be killed (exit 137) when its terminationGracePeriodSeconds (2 s) is over, not sooner (measured).",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { terminatesGracefully(ctx, f) })

	framework.Check("the downward API gives a pod its own fields and resources",
		"A pod MUST get, through downward API environment variables, its own name, namespace, node, IP, ServiceAccount, CPU request and memory limit, and through a downward API volume its labels and annotations, each as the API holds them for the pod.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { downwardReaches(ctx, f) })

	framework.Check("a container's resources reach its cgroup, and its memory limit OOM-kills",
		"A container's CPU request, CPU limit and memory limit MUST be in its own cgroup as the kubelet applies them (CPU shares, or the cgroup v2 weight made of them; a CFS quota of limit × period; the memory limit in bytes), read from inside the container; a container that allocates past its memory limit MUST be killed (exit 137) part way by the kernel's OOM killer (measured: how much it had allocated); the runtime's reason for it should be OOMKilled, and a warning says when it is not.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { resourcesEnforced(ctx, f) })
})
