package kubeletfreeze

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubeproof/kubeproof/fixtures/meta"
)

// Each run freezes from its own namespace, labelled with the run and its
// owner: `cleanup --run-id` finds it, and a plain `cleanup` leaves it to a
// live run.
func TestNamespaceCarriesTheRun(t *testing.T) {
	cs := fake.NewClientset()
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
