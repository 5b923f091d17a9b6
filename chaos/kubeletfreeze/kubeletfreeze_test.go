package kubeletfreeze

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubeproof/kubeproof/fixtures/meta"
	"github.com/kubeproof/kubeproof/internal/kube"
)

// Each run freezes from its own namespace, labelled with the run and its
// owner: `cleanup --run-id` finds it, and a plain `cleanup` leaves it to a
// live run.
func TestNamespaceCarriesTheRun(t *testing.T) {
	cs := fake.NewClientset(defaultServiceAccount("kubeproof-chaos-20261126-010203-abcd-1"))
	f := &Freeze{Client: cs, Node: "w1", Image: "img", For: time.Minute, RunID: "20261126-010203-ABcd_1", Owner: "host/42"}
	f.Plan()
	if f.Namespace != "kubeproof-chaos-20261126-010203-abcd-1" {
		t.Fatalf("namespace %q: want a DNS label from the run ID", f.Namespace)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = f.Inject(ctx) // the fake pod never runs; the objects are what matter
	ns, err := cs.CoreV1().Namespaces().Get(context.Background(), f.Namespace, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ns.Labels[meta.LabelRunID] != f.RunID || ns.Annotations[meta.AnnotationOwner] != "host/42" {
		t.Errorf("namespace %s: want run labels and owner, got %v %v", ns.Name, ns.Labels, ns.Annotations)
	}
	pod, err := cs.CoreV1().Pods(f.Namespace).Get(context.Background(), f.Pod, metav1.GetOptions{})
	if err != nil || pod.Labels[meta.LabelRunID] != f.RunID {
		t.Errorf("freezing pod: want the run's labels, got %v %v", err, pod)
	}
	if got := f.Spec().Params["namespace"]; got != f.Namespace {
		t.Errorf("the journal must keep the namespace, got %q", got)
	}
}

// With a registry image behind credentials, the freezing pod's namespace
// gets a copy of the pull Secret and the pod names it.
func TestPullSecretReachesTheFreezingPod(t *testing.T) {
	cs := fake.NewClientset(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ci", Name: "regcred"}, Type: corev1.SecretTypeDockerConfigJson}, defaultServiceAccount("kubeproof-chaos-r1"))
	f := &Freeze{Client: cs, Node: "w1", Image: "registry.example/w@sha256:ab", PullSecret: "ci/regcred", For: time.Minute, RunID: "r1"}
	f.Plan()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = f.Inject(ctx)
	if _, err := cs.CoreV1().Secrets(f.Namespace).Get(context.Background(), kube.PullSecretName, metav1.GetOptions{}); err != nil {
		t.Fatalf("pull Secret in %s: %v", f.Namespace, err)
	}
	pod, err := cs.CoreV1().Pods(f.Namespace).Get(context.Background(), f.Pod, metav1.GetOptions{})
	if err != nil || len(pod.Spec.ImagePullSecrets) != 1 || pod.Spec.ImagePullSecrets[0].Name != kube.PullSecretName {
		t.Fatalf("freezing pod: want imagePullSecrets [%s], got %v (%v)", kube.PullSecretName, pod, err)
	}
	// Injected again (a retried run): the copy already there is fine.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if err := f.Inject(ctx2); err != nil && strings.Contains(err.Error(), "Secret") {
		t.Fatalf("second injection: %v", err)
	}
}

// defaultServiceAccount is what kube-controller-manager would have created
// in namespace ns: the fake clientset has no controllers.
func defaultServiceAccount(ns string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default"}}
}
