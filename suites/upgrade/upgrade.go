package upgrade

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/onsi/ginkgo/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/version"
	kubectldrain "k8s.io/kubectl/pkg/drain"

	"github.com/kubeproof/kubeproof/fixtures/meta"
	"github.com/kubeproof/kubeproof/suites/contract"
	"github.com/kubeproof/kubeproof/suites/framework"
)

// The checks of this area.
var _ = framework.Describe("pre-upgrade", contract.AreaUpgrade, func() {
	f := framework.New("upgrade")

	framework.Check("no API in live use that the target version removes",
		"No client MUST have requested, since the API server started, an API that the target version no longer serves (the API server's apiserver_requested_deprecated_apis: group, version, resource, and the release that removes it); an API only deprecated is named as a warning. Each API server counts its own requests: on a cluster with several, the one that answered is judged.",
		contract.ProfilePreUpgrade,
		func(ctx ginkgo.SpecContext) { noRemovedAPIInUse(ctx, f) })

	framework.Check("every kubelet within the skew the target version allows",
		"Once the control plane runs the target version, every kubelet MUST be within its version skew policy: no newer than the target, and at most three minor versions older.",
		contract.ProfilePreUpgrade,
		func(ctx ginkgo.SpecContext) { kubeletsWithinTargetSkew(ctx, f) })

	framework.Check("no PodDisruptionBudget blocks every drain",
		"No PodDisruptionBudget MUST allow zero disruptions while every pod it expects is healthy: such a budget refuses the eviction of its pods from any node, so the drain of each node that runs one waits forever.",
		contract.ProfilePreUpgrade,
		func(ctx ginkgo.SpecContext) { noBlockingBudget(ctx, f) })

	framework.Check("every node can be drained",
		"Every node MUST be drainable the way an upgrade drains it (kubectl drain --ignore-daemonsets --delete-emptydir-data): no pod on it without a controller to recreate it elsewhere; DaemonSet and static (mirror) pods stay, and emptyDir data goes with its pod.",
		contract.ProfilePreUpgrade,
		func(ctx ginkgo.SpecContext) { everyNodeDrainable(ctx, f) })
})

// maxKubeletSkew is the version skew policy: kubelets up to three minor
// versions older than the API server.
const maxKubeletSkew = 3

// target is the --target-version; a run without one does not judge.
func target() *version.Version {
	ginkgo.GinkgoHelper()
	if framework.Context.TargetVersion == "" {
		ginkgo.Skip("not checked: no --target-version (the version the cluster will be upgraded to)")
	}
	v, err := version.ParseGeneric(framework.Context.TargetVersion)
	if err != nil {
		framework.Failf("--target-version %q: %v", framework.Context.TargetVersion, err)
	}
	return v
}

func kubeletsWithinTargetSkew(ctx context.Context, f *framework.Framework) {
	to := target()
	nodes, err := f.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		framework.Failf("list nodes: %v", err)
	}
	if problems := kubeletSkew(nodes.Items, to); len(problems) > 0 {
		framework.Failf("kubelets against an API server at %s: want each no newer and at most %d minor versions older, got %s", framework.Context.TargetVersion, maxKubeletSkew, strings.Join(problems, "; "))
	}
	framework.Measure("kubelets within the target's skew", float64(len(nodes.Items)), "nodes")
}

// kubeletSkew lists, a phrase per node, the kubelets outside the skew
// policy of an API server at version to.
func kubeletSkew(nodes []corev1.Node, to *version.Version) []string {
	var problems []string
	for _, n := range nodes {
		v := n.Status.NodeInfo.KubeletVersion
		kubelet, err := version.ParseGeneric(v)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("node %s kubelet version %q unreadable", n.Name, v))
		case kubelet.Major() != to.Major() || kubelet.Minor() > to.Minor():
			problems = append(problems, fmt.Sprintf("node %s kubelet %s is newer than the target", n.Name, v))
		case kubelet.Minor()+maxKubeletSkew < to.Minor():
			problems = append(problems, fmt.Sprintf("node %s kubelet %s would be %d minor versions behind (upgrade it to at least v%d.%d first)", n.Name, v, to.Minor()-kubelet.Minor(), to.Major(), to.Minor()-maxKubeletSkew))
		}
	}
	return problems
}

func noBlockingBudget(ctx context.Context, f *framework.Framework) {
	target()
	pdbs, err := f.Client.PolicyV1().PodDisruptionBudgets("").List(ctx, metav1.ListOptions{})
	if err != nil {
		framework.Failf("list PodDisruptionBudgets: %v", err)
	}
	var blocking []string
	for _, p := range pdbs.Items {
		st := p.Status
		// A status the controller has not computed for this spec yet
		// says nothing.
		if st.ObservedGeneration < p.Generation || st.ExpectedPods == 0 {
			continue
		}
		if st.DisruptionsAllowed == 0 && st.CurrentHealthy >= st.ExpectedPods {
			blocking = append(blocking, fmt.Sprintf("%s/%s (%s; %d of %d pods healthy, 0 disruptions allowed)", p.Namespace, p.Name, budgetSpec(p.Spec.MinAvailable, p.Spec.MaxUnavailable), st.CurrentHealthy, st.ExpectedPods))
		}
	}
	framework.Measure("PodDisruptionBudgets judged", float64(len(pdbs.Items)), "")
	if len(blocking) > 0 {
		framework.Failf("PodDisruptionBudgets: want each to allow a disruption while all its pods are healthy, got %d that allow none, which blocks the drain of every node their pods run on: %s", len(blocking), strings.Join(blocking, "; "))
	}
}

func budgetSpec(minAvailable, maxUnavailable *intstr.IntOrString) string {
	switch {
	case minAvailable != nil:
		return "minAvailable " + minAvailable.String()
	case maxUnavailable != nil:
		return "maxUnavailable " + maxUnavailable.String()
	}
	return "neither minAvailable nor maxUnavailable"
}

func everyNodeDrainable(ctx context.Context, f *framework.Framework) {
	target()
	nodes, err := f.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		framework.Failf("list nodes: %v", err)
	}
	// kubectl's own filters, as `kubectl drain --ignore-daemonsets
	// --delete-emptydir-data` applies them; the run's own pods (bare, by
	// design) are not the cluster's.
	h := &kubectldrain.Helper{Ctx: ctx, Client: f.Client, IgnoreAllDaemonSets: true, DeleteEmptyDirData: true, GracePeriodSeconds: -1,
		PodSelector: meta.LabelRunID + "!=" + framework.RunID(), Out: io.Discard, ErrOut: io.Discard}
	var blocked []string
	for _, n := range nodes.Items {
		_, errs := h.GetPodsForDeletion(n.Name)
		var why []string
		for _, e := range errs {
			// kubectl says "cannot delete" twice for pods without a
			// controller.
			why = append(why, strings.Replace(e.Error(), "cannot delete cannot delete ", "cannot delete ", 1))
		}
		slices.Sort(why)
		if len(why) > 0 {
			blocked = append(blocked, fmt.Sprintf("node %s: %s", n.Name, strings.Join(why, "; ")))
		}
	}
	framework.Measure("nodes judged drainable", float64(len(nodes.Items)-len(blocked)), "nodes")
	if len(blocked) > 0 {
		framework.Failf("kubectl drain --ignore-daemonsets --delete-emptydir-data on each of %d nodes: want every pod evictable, got %d nodes that cannot be drained: %s", len(nodes.Items), len(blocked), strings.Join(blocked, " | "))
	}
}
