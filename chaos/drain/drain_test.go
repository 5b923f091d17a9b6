package drain

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDrainLeavesDaemonSetAndStaticPods(t *testing.T) {
	running := corev1.PodStatus{Phase: corev1.PodRunning}
	cases := []struct {
		name string
		pod  corev1.Pod
		want bool
	}{
		{"ReplicaSet pod", corev1.Pod{ObjectMeta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet"}}}, Status: running}, true},
		{"bare pod", corev1.Pod{Status: running}, true},
		{"DaemonSet pod", corev1.Pod{ObjectMeta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{{Kind: "DaemonSet"}}}, Status: running}, false},
		{"static pod", corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{corev1.MirrorPodAnnotationKey: "x"}}, Status: running}, false},
		{"finished pod", corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodSucceeded}}, false},
	}
	for _, c := range cases {
		if got := evictable(&c.pod); got != c.want {
			t.Errorf("%s: evictable = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestRevertLeavesANodeSomeoneElseCordoned(t *testing.T) {
	d := &Drain{Node: "n", WasCordoned: true}
	// No client: Revert must not even try to uncordon.
	if err := d.Revert(t.Context()); err != nil {
		t.Fatal(err)
	}
}
