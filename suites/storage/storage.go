package storage

import (
	"github.com/onsi/ginkgo/v2"

	"github.com/kubeproof/kubeproof/suites/contract"
	"github.com/kubeproof/kubeproof/suites/framework"
)

// The checks of this area, one line each; their bodies live in claims.go,
// statefulset.go and configs.go.
var _ = framework.Describe("storage", contract.AreaStorage, func() {
	f := framework.New("storage")

	framework.Check("a default StorageClass is set",
		"The cluster MUST name a default StorageClass (annotation storageclass.kubernetes.io/is-default-class), so that a claim without a class gets a volume; where it names none, the storage checks are not checked, saying so.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { defaultClassIsSet(ctx, f) })

	framework.Check("a claim binds as its StorageClass's volumeBindingMode says",
		"A claim of the default class MUST bind within 2m: at once with volumeBindingMode Immediate; with WaitForFirstConsumer, only once a pod uses it (until then Pending, with the WaitForFirstConsumer event), and the pod MUST start with the volume mounted.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { claimBinds(ctx, f) })

	framework.Check("a deleted claim's volume is reclaimed as its StorageClass says",
		"When a bound claim of the default class is deleted, its volume MUST be deleted within 2m (reclaimPolicy Delete); a class that retains volumes is not checked, since checking would leave a volume behind.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { volumeReclaimed(ctx, f) })

	framework.Check("a StatefulSet's pod keeps its claim and data through a restart and its deletion",
		"Data a StatefulSet's pod writes to its claim (from a template, of the default class) MUST still be there after its container restarts in place and after the pod is deleted and made again by the StatefulSet with the same claim (same object), on the same node (measured: each time to Ready; then, moved to another node, whether the data follows it, reported as the class's property, not judged); where the cluster refuses the root init container that gives the volume to the workload's user, it is not checked, saying so.",
		contract.ProfileCore, contract.NeedsRoot,
		func(ctx ginkgo.SpecContext) { statefulPodKeepsData(ctx, f) })

	framework.Check("an updated ConfigMap or Secret reaches its volume, not a subPath mount",
		"When a ConfigMap and a Secret mounted as volumes are updated, the files in the pod MUST show the new data within 2m (the kubelet's sync period, 1m by default, its jitter of up to half and 30s; measured, each, for an update made once the pod's start is over: about one sync period), while the ConfigMap's key mounted through a subPath MUST keep the data the container started with. Certification profile only: it waits out the kubelet's sync period.",
		contract.ProfileCertification,
		// Outside the core profile that make bench times: its usual length
		// (a kubelet sync period and the pod's start), for longest first.
		ginkgo.SpecPriority(70),
		func(ctx ginkgo.SpecContext) { configsPropagate(ctx, f) })
})
