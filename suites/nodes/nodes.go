package nodes

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/onsi/ginkgo/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/version"

	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/suites/contract"
	"github.com/kubeproof/kubeproof/suites/framework"
)

// The checks of this area.
var _ = framework.Describe("nodes", contract.AreaNodes, func() {
	f := framework.New("nodes")

	framework.Check("every node Ready, without pressure, within the version skew policy",
		"Every node MUST be Ready with no memory, disk or PID pressure and a working network; its kubelet MUST be no newer than the API server and at most three minor versions older; kubelet and kube-proxy versions MUST agree where both are reported, and every node MUST run the same container runtime.",
		contract.ProfileQuick, contract.ProfileCore,
		func(ctx ginkgo.SpecContext) { everyNodeHealthy(ctx, f) })
})

// pressure lists the conditions that must be False on a healthy node.
var pressure = []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure, corev1.NodeNetworkUnavailable}

// maxKubeletSkew is the version skew policy: kubelets up to three minor
// versions older than the API server.
const maxKubeletSkew = 3

func everyNodeHealthy(ctx context.Context, f *framework.Framework) {
	list, err := f.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		framework.Failf("list nodes: %v", err)
	}
	server, serverVersion := f.ServerVersion()
	problems := nodeProblems(list.Items, server)
	ready := 0
	for _, n := range list.Items {
		if kube.NodeReady(&n) {
			ready++
		}
	}
	framework.Measure("nodes Ready", float64(ready), "")
	if len(problems) > 0 {
		framework.Failf("nodes: want all %d Ready, without pressure and within the version skew policy of API server %s, got %s", len(list.Items), serverVersion, strings.Join(problems, "; "))
	}
}

// nodeProblems lists, one short phrase each and by node, what keeps the
// nodes from being healthy and consistent.
func nodeProblems(nodes []corev1.Node, server *version.Version) []string {
	var problems []string
	if len(nodes) == 0 {
		return []string{"no nodes registered"}
	}
	runtimes := map[string][]string{}
	for _, n := range nodes {
		if !kube.NodeReady(&n) {
			problems = append(problems, fmt.Sprintf("node %s %s", n.Name, framework.NodeReadiness(&n)))
		}
		for _, c := range n.Status.Conditions {
			for _, p := range pressure {
				if c.Type == p && c.Status == corev1.ConditionTrue {
					problems = append(problems, fmt.Sprintf("node %s %s=True (%s)", n.Name, c.Type, c.Reason))
				}
			}
		}
		ni := n.Status.NodeInfo
		kubelet, err := version.ParseGeneric(ni.KubeletVersion)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("node %s kubelet version %q unreadable", n.Name, ni.KubeletVersion))
		case kubelet.Major() != server.Major() || kubelet.Minor() > server.Minor() || kubelet.Minor()+maxKubeletSkew < server.Minor():
			problems = append(problems, fmt.Sprintf("node %s kubelet %s outside the skew policy (no newer than the API server, at most %d minors older)", n.Name, ni.KubeletVersion, maxKubeletSkew))
		}
		if ni.KubeProxyVersion != "" && ni.KubeProxyVersion != ni.KubeletVersion {
			problems = append(problems, fmt.Sprintf("node %s kube-proxy %s with kubelet %s", n.Name, ni.KubeProxyVersion, ni.KubeletVersion))
		}
		name, _, _ := strings.Cut(ni.ContainerRuntimeVersion, "://")
		runtimes[name] = append(runtimes[name], n.Name)
	}
	if len(runtimes) > 1 {
		var parts []string
		for rt, ns := range runtimes {
			parts = append(parts, fmt.Sprintf("%s on %s", rt, strings.Join(ns, ",")))
		}
		sort.Strings(parts)
		problems = append(problems, "container runtimes differ: "+strings.Join(parts, "; "))
	}
	return problems
}
