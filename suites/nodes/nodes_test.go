package nodes

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/version"
)

func node(name, kubelet, runtime string, conds ...corev1.NodeCondition) corev1.Node {
	return corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.NodeStatus{
			Conditions: conds,
			NodeInfo:   corev1.NodeSystemInfo{KubeletVersion: kubelet, ContainerRuntimeVersion: runtime},
		},
	}
}

var ready = corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue}

func TestNodeProblems(t *testing.T) {
	server := version.MustParseGeneric("v1.34.4")
	healthy := []corev1.Node{
		node("a", "v1.34.4", "containerd://1.6.20", ready),
		node("b", "v1.31.0", "containerd://1.7.0", ready), // three minors older: allowed
	}
	if p := nodeProblems(healthy, server); len(p) != 0 {
		t.Errorf("healthy nodes: got problems %v", p)
	}
	sick := []corev1.Node{
		node("a", "v1.34.4", "containerd://1.6.20", ready),
		node("dead", "v1.34.4", "containerd://1.6.20", corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionUnknown, Reason: "NodeStatusUnknown", Message: "Kubelet stopped posting node status."}),
		node("full", "v1.34.4", "containerd://1.6.20", ready, corev1.NodeCondition{Type: corev1.NodeDiskPressure, Status: corev1.ConditionTrue, Reason: "KubeletHasDiskPressure"}),
		node("new", "v1.35.0", "containerd://1.6.20", ready),
		node("old", "v1.30.9", "cri-o://1.30", ready),
	}
	got := strings.Join(nodeProblems(sick, server), "; ")
	for _, want := range []string{
		"node dead Ready=Unknown NodeStatusUnknown: Kubelet stopped posting node status.",
		"node full DiskPressure=True",
		"node new kubelet v1.35.0 outside the skew policy",
		"node old kubelet v1.30.9 outside the skew policy",
		"container runtimes differ: containerd on a,dead,full,new; cri-o on old",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems %q: want %q", got, want)
		}
	}
	if strings.Contains(got, "node a ") {
		t.Errorf("healthy node a named: %q", got)
	}
}
