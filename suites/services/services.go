package services

import (
	"github.com/onsi/ginkgo/v2"

	"github.com/kubeproof/kubeproof/suites/contract"
	"github.com/kubeproof/kubeproof/suites/framework"
)

// The checks of this area, one line each; their bodies live in the files
// named after the Service feature they exercise. Tools find checks by the
// start of their names (test/e2e), so keep those stable.
var _ = framework.Describe("services", contract.AreaServices, func() {
	f := framework.New("services")

	framework.Check("ClusterIP reached by IP and by DNS name",
		"A ClusterIP Service MUST forward HTTP from a pod on every schedulable node to one of its backends when addressed by its ClusterIP, by name.namespace and by its short name.",
		contract.ProfileCore, contract.ProfileQuick,
		func(ctx ginkgo.SpecContext) { clusterIPByIPAndName(ctx, f) })

	framework.Check("NodePort reached on every node's InternalIP",
		"A NodePort Service MUST forward HTTP to one of its backends on the InternalIP of every schedulable node.",
		contract.ProfileCore, contract.ProfileQuick,
		func(ctx ginkgo.SpecContext) { nodePortOnEveryNode(ctx, f) })

	framework.Check("headless Service resolves to exactly the ready pod IPs",
		"The DNS name of a headless Service MUST resolve to exactly the IPs of its ready backends from a pod on every schedulable node, and each of them MUST answer.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { headlessResolvesReadyPods(ctx, f) })

	framework.Check("session affinity ClientIP keeps a client on one backend",
		"A Service with ClientIP session affinity MUST send every request of one client to the same backend, while the same backends without affinity share the load.",
		contract.ProfileCore, contract.CrossNode,
		func(ctx ginkgo.SpecContext) { sessionAffinity(ctx, f) })

	framework.Check("EndpointSlices follow readiness",
		"A backend that turns unready MUST be marked not ready in its Service's EndpointSlice and receive no more Service traffic, and MUST be marked ready again once it recovers.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { endpointsFollowReadiness(ctx, f) })

	framework.Check("Service without ready endpoints rejects fast",
		"A connection to the ClusterIP of a Service with no ready endpoint MUST be refused at once, not left to time out.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { rejectWithoutEndpoints(ctx, f) })

	framework.Check("hairpin: a pod reaches itself through its own Service",
		"A pod MUST reach itself through the ClusterIP of a Service it backs.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { hairpin(ctx, f) })

	framework.Check("multi-port Service serves HTTP, TCP and UDP",
		"Each port of a Service with several ports and protocols MUST forward to its own target port on the backends.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { multiPort(ctx, f) })

	framework.Check("ExternalName aliases an in-cluster Service",
		"The name of an ExternalName Service MUST resolve to what its externalName resolves to, so that clients using it on every schedulable node reach the target Service.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { externalName(ctx, f) })
})
