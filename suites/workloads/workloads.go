package workloads

import (
	"github.com/onsi/ginkgo/v2"

	"github.com/kubeproof/kubeproof/suites/contract"
	"github.com/kubeproof/kubeproof/suites/framework"
)

// The checks of this area, one line each; their bodies live in
// replicasets.go and deployments.go. Tools find checks by the start of
// their names, so keep those stable.
var _ = framework.Describe("ReplicaSet self-healing", contract.AreaWorkloads, func() {
	f := framework.New("replicasets")

	framework.Check("deleted pods are replaced while the Service keeps answering",
		"A ReplicaSet MUST create a replacement for each deleted pod within 60s of the deletion, one pod or several at once, the replacements MUST become Ready, and its Service MUST answer in every 250ms interval (80 requests/s) until the deleted pods are gone and the replacements Ready.",
		contract.ProfileQuick, contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { replacesDeletedPods(ctx, f) })

	framework.Check("a crashed container restarts in place and rejoins its Service",
		"When a pod's main process exits, its container MUST be restarted in the same pod (same name and UID, higher restartCount), and the pod MUST return as ready in its Service's EndpointSlice.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { restartsCrashedContainer(ctx, f) })

	framework.Check("scaling 2 -> 5 -> 1 gives exactly the desired Ready pods, spread across nodes",
		"A scaled ReplicaSet MUST reach exactly the desired number of pods, all Ready, and a hostname spread constraint (maxSkew 1, DoNotSchedule) MUST keep per-node counts within 1 of each other.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { scalesAndSpreads(ctx, f) })

	framework.Check("matching orphans are adopted and relabelled pods released",
		"A ReplicaSet MUST adopt an orphan pod its selector matches (creating only the missing pods), and MUST release a pod relabelled out of its selector and replace it.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { adoptsAndReleases(ctx, f) })
})

var _ = framework.Describe("Deployment rollouts", contract.AreaWorkloads, func() {
	f := framework.New("deployments")

	framework.Check("a rolling update under load drops no request",
		"A rolling update (maxSurge 1, maxUnavailable 0) of a Deployment whose pods drain on SIGTERM (serving until no request has come for 1s, at most 10s) MUST complete without a single failed request through its Service (80 requests/s, from before the update until the old pods are gone).",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { rollingUpdateUnderLoad(ctx, f) })

	framework.Check("maxSurge and maxUnavailable hold at every moment of a rollout",
		"During a rollout of a 3-replica Deployment with maxSurge 1 and maxUnavailable 1, its ReplicaSets MUST never hold more than 4 pods nor fewer than 2 available.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { surgeAndUnavailability(ctx, f) })

	framework.Check("a rollback restores the previous revision",
		"Setting a Deployment's template back to an earlier revision's (as kubectl rollout undo does) MUST bring that revision's ReplicaSet back, and afterwards every answer through its Service MUST come from that revision.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { rollsBack(ctx, f) })

	framework.Check("a paused Deployment does not roll out until resumed",
		"A paused Deployment MUST NOT create a ReplicaSet for a changed template, and MUST complete the rollout once resumed.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { pausesAndResumes(ctx, f) })

	framework.Check("Recreate never runs old and new pods together",
		"A Deployment with the Recreate strategy MUST NOT have pods of the old and the new template running at the same time during a rollout.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { recreateNeverOverlaps(ctx, f) })

	framework.Check("a rollout that cannot progress reports ProgressDeadlineExceeded while old pods serve",
		"A Deployment whose new pods can never start MUST report Progressing=False with reason ProgressDeadlineExceeded after progressDeadlineSeconds (1s here, the smallest the API accepts: it must exceed minReadySeconds, 0), and its old pods MUST keep serving.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { reportsStalledRollout(ctx, f) })
})
