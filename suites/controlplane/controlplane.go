package controlplane

import (
	"github.com/onsi/ginkgo/v2"

	"github.com/kubeproof/kubeproof/suites/contract"
	"github.com/kubeproof/kubeproof/suites/framework"
)

// The checks of this area, one line each; their bodies live in leases.go
// and gc.go.
var _ = framework.Describe("control plane", contract.AreaControlPlane, func() {
	f := framework.New("control-plane")

	framework.Check("kube-scheduler and kube-controller-manager renew their leader Leases",
		"The leader Leases kube-system/kube-scheduler and kube-system/kube-controller-manager MUST each have a holder and MUST be renewed within their leaseDurationSeconds, watched until renewed twice; a control plane that publishes neither is not checked, saying so.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { leadersRenew(ctx, f) })

	framework.Check("garbage collection deletes, waits for or orphans dependents as asked",
		"Deleting an owner MUST, by its propagation policy: Background, delete it at once and its dependents after; Foreground, keep it (foregroundDeletion finalizer) until its blocking dependents are deleted, then delete it; Orphan, delete it and keep its dependents with the owner reference removed; each within 30s.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { collectsGarbage(ctx, f) })
})
