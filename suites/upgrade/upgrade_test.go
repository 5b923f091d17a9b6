package upgrade

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/version"
)

func TestKubeletSkew(t *testing.T) {
	node := func(name, kubelet string) corev1.Node {
		return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{KubeletVersion: kubelet}}}
	}
	to := version.MustParseGeneric("v1.35")
	got := kubeletSkew([]corev1.Node{node("a", "v1.34.4"), node("b", "v1.32.0"), node("c", "v1.31.9"), node("d", "v1.36.0"), node("e", "x")}, to)
	want := []string{"node c kubelet v1.31.9 would be 4 minor versions behind", "node d kubelet v1.36.0 is newer", `node e kubelet version "x" unreadable`}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %d problems", got, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i], w) {
			t.Errorf("problem %d: got %q, want it to start with %q", i, got[i], w)
		}
	}
}
