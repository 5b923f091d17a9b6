package controlplane

import (
	"github.com/onsi/ginkgo/v2"

	"github.com/kubeproof/kubeproof/suites/contract"
	"github.com/kubeproof/kubeproof/suites/framework"
)

// The checks of this area, one line each; their bodies live in health.go,
// versions.go, leases.go, gc.go, watch.go, api.go and outage.go.
var _ = framework.Describe("control plane", contract.AreaControlPlane, func() {
	f := framework.New("control-plane")

	framework.Check("the API server passes every individual check of /livez and /readyz",
		"The API server that answers MUST list, on /livez?verbose and /readyz?verbose, every individual check (etcd, informers, post-start hooks, shutdown, ...) passing and answer HTTP 200 (measured: how many checks each lists); where the cluster refuses this identity those endpoints, it is not checked, saying so.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { apiServerHealthy(ctx, f) })

	framework.Check("kube-controller-manager, kube-scheduler and kube-proxy run versions the skew policy allows",
		"kube-controller-manager and kube-scheduler MUST NOT be newer than the API server nor more than 1 minor version older, kube-proxy not newer nor more than 3 older (the version skew policy), each read from its pods' image tag in kube-system; a component whose pods are not in view or whose tag is not a version is not judged, saying so (no component judged: not checked).",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { componentVersions(ctx, f) })

	framework.Check("kube-scheduler and kube-controller-manager renew their leader Leases",
		"The leader Leases kube-system/kube-scheduler and kube-system/kube-controller-manager MUST each have a holder and MUST be renewed within their leaseDurationSeconds, watched until renewed twice; a control plane that publishes neither is not checked, saying so.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { leadersRenew(ctx, f) })

	framework.Check("garbage collection deletes, waits for or orphans dependents as asked",
		"Deleting an owner MUST, by its propagation policy: Background, delete it at once and its dependents after; Foreground, keep it (foregroundDeletion finalizer) until its blocking dependents are deleted, then delete it; Orphan, delete it and keep its dependents with the owner reference removed; each within 30s.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { collectsGarbage(ctx, f) })

	framework.Check("a watch sees every change once, in order, and resumes after a cut",
		"A watch on a namespace's ConfigMaps MUST deliver every create, update and delete of a burst of 10 objects once, in the order written, each within 30s; cut half-way and resumed from the resourceVersion of the last event read, while more changes are written, it MUST deliver the rest, none missed or repeated (events compared, resourceVersions used only to resume).",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { watchResumes(ctx, f) })

	framework.Check("a stale update is refused with 409 Conflict",
		"An update carrying a resourceVersion older than the object's MUST be refused with 409 Conflict and change nothing (optimistic concurrency).",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { staleUpdateRefused(ctx, f) })

	framework.Check("server-side apply records field managers and refuses conflicting applies",
		"Server-side apply MUST record the fields each manager applies as its own, refuse with 409 Conflict naming the owner another manager's apply of an owned field unless forced, give the field to a forced apply, and remove a field its only manager stops applying.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { appliesWithManagers(ctx, f) })

	framework.Check("a finalizer holds deletion until removed",
		"A deleted object that carries a finalizer MUST stay, marked for deletion, until the finalizer is removed, and MUST then be deleted within 30s.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { finalizerHolds(ctx, f) })
})

// The component outages: each stops a component of the control plane
// (kind clusters, with consent for a control-plane node), one at a time.
// The API server's restart makes kube-scheduler and kube-controller-manager
// exit and crash-loop while it is away, and the kubelet's back-off then
// delays their next start: their own checks run before it.
var _ = framework.Describe("control-plane outages", contract.AreaControlPlane, contract.Disruptive, contract.ChaosComponentStop, ginkgo.Serial, func() {
	f := framework.New("outage")

	framework.Check("kube-scheduler stopped: pods wait; restarted, it takes its Lease and schedules them",
		"While kube-scheduler is stopped (its static pod manifest moved away: kind, --allow-control-plane), a new pod MUST stay unscheduled (watched 5s); once its manifest is back, the new kube-scheduler MUST take its leader Lease within its leaseDurationSeconds + 30s and bind the waiting pod within 30s more (measured: restart to Lease taken, restart to pod scheduled); where the component cannot be stopped it is not checked, saying why.",
		contract.ProfileCertification, beforeAPIServerRestart,
		func(ctx ginkgo.SpecContext) { schedulerOutage(ctx, f) })

	framework.Check("kube-controller-manager stopped: deleted pods wait; restarted, it takes its Lease and replaces them",
		"While kube-controller-manager is stopped (its static pod manifest moved away: kind, --allow-control-plane), a ReplicaSet's deleted pod MUST NOT be replaced (watched 5s); once its manifest is back, the new kube-controller-manager MUST take its leader Lease within its leaseDurationSeconds + 30s and replace the pod within 30s more (measured: restart to Lease taken, restart to replacement created); where the component cannot be stopped it is not checked, saying why.",
		contract.ProfileCertification, beforeAPIServerRestart,
		func(ctx ginkgo.SpecContext) { controllerManagerOutage(ctx, f) })

	framework.Check("kube-apiserver stopped and started: it answers again, a watch resumes and the leaders reconnect",
		"Once kube-apiserver, stopped (its static pod manifest moved away: kind, --allow-control-plane), has its manifest back, /readyz MUST answer 200 within 2m (measured: the time it did not, and restart to 200); a watch resumed from the last event read before the stop MUST deliver every change written since, once each in order, or answer 410 Gone, after which a list MUST hold them all (measured: which); kube-scheduler's and kube-controller-manager's leader Leases MUST be renewed within 15s + 2m of the API answering (measured); where the component cannot be stopped it is not checked, saying why.",
		contract.ProfileCertification,
		func(ctx ginkgo.SpecContext) { apiServerOutage(ctx, f) })
})

// beforeAPIServerRestart orders the checks of a component stopped alone
// before the API server's restart (ginkgo runs higher priorities first).
var beforeAPIServerRestart = ginkgo.SpecPriority(1)
