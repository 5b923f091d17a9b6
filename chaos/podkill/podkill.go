// Package podkill deletes pods by label selector at once (grace period 0):
// an API-level fault for any cluster. It cannot be reverted; the pods'
// controllers are what is being tested.
package podkill

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeproof/kubeproof/chaos"
)

// Kill deletes the pods matching Selector in Namespace.
type Kill struct {
	Client    kubernetes.Interface
	Namespace string
	Selector  string
}

func (k *Kill) Describe() string {
	return fmt.Sprintf("delete the pods matching %q in namespace %s with grace period 0; irreversible: their controllers must replace them", k.Selector, k.Namespace)
}

func (k *Kill) Inject(ctx context.Context) error {
	if k.Selector == "" {
		return fmt.Errorf("pod-kill needs a label selector: refusing to kill every pod of %s", k.Namespace)
	}
	zero := int64(0)
	return k.Client.CoreV1().Pods(k.Namespace).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{LabelSelector: k.Selector})
}

// Revert has nothing to undo.
func (k *Kill) Revert(context.Context) error { return nil }

func (k *Kill) Spec() chaos.Spec {
	return chaos.Spec{Kind: chaos.PodKill, Params: map[string]string{"namespace": k.Namespace, "selector": k.Selector}}
}
