package drain

import (
	"context"
	"errors"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

func pod(name string, owner string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}, Spec: corev1.PodSpec{NodeName: "n"}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	if owner != "" {
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: owner, Name: strings.ToLower(owner), Controller: ptr.To(true)}}
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func drainOf(objs ...runtime.Object) *Drain {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}}
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "daemonset", Namespace: "ns"}}
	return &Drain{Client: fake.NewClientset(append(objs, node, ds)...), Node: "n"}
}

// kubectl drain's rule: ReplicaSet pods go, DaemonSet and static pods stay.
func TestDrainEvictsWhatKubectlDrainEvicts(t *testing.T) {
	mirror := func(p *corev1.Pod) { p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"} }
	d := drainOf(pod("web", "ReplicaSet"), pod("proxy", "DaemonSet"), pod("etcd-n", "", mirror))
	if err := d.Plan(context.Background()); err != nil {
		t.Fatal(err)
	}
	pods, err := d.podsToEvict(context.Background())
	if err != nil || len(pods) != 1 || pods[0].Name != "web" {
		t.Errorf("pods to evict = %v, %v; want only web", pods, err)
	}
}

// What kubectl drain refuses without --force or --delete-emptydir-data is
// refused before anything is cordoned.
func TestDrainRefusesUnmanagedPodsAndEmptyDirData(t *testing.T) {
	scratch := func(p *corev1.Pod) {
		p.Spec.Volumes = []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	}
	for _, c := range []struct {
		name string
		pod  *corev1.Pod
		says string
	}{
		{"unmanaged pod", pod("lonely", ""), "lonely"},
		{"emptyDir data", pod("cache", "ReplicaSet", scratch), "cache"},
	} {
		d := drainOf(pod("web", "ReplicaSet"), c.pod)
		err := d.Plan(context.Background())
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: want ErrRefused naming %s, got %v", c.name, c.says, err)
		}
		n, _ := d.Client.CoreV1().Nodes().Get(context.Background(), "n", metav1.GetOptions{})
		if n.Spec.Unschedulable {
			t.Errorf("%s: node cordoned by a refused plan", c.name)
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
