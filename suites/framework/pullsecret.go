package framework

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeproof/kubeproof/fixtures"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/suites/contract"
)

// PullSecretName is the run's copy of --image-pull-secret in each
// namespace it creates.
const PullSecretName = "kubeproof-pull"

// ServerPod is fixtures.ServerPod with the run's workload image (unless
// o names one) and, with --image-pull-secret, its pull Secret: every pod
// that runs the workload image is built here.
func ServerPod(o Server) *corev1.Pod {
	if o.Image == "" {
		o.Image = Context.WorkloadImage
	}
	if Context.ImagePullSecret != "" {
		o.PullSecret = PullSecretName
	}
	return fixtures.ServerPod(o)
}

var pullSource struct {
	once   sync.Once
	secret *corev1.Secret
	err    error
}

// copyPullSecret puts a copy of the --image-pull-secret Secret into ns,
// labelled with the run; it does nothing without that flag.
func copyPullSecret(ctx context.Context, c *kube.Client, ns string) error {
	if Context.ImagePullSecret == "" {
		return nil
	}
	pullSource.once.Do(func() {
		srcNS, name := contract.SplitPullSecret(Context.ImagePullSecret)
		pullSource.secret, pullSource.err = c.CoreV1().Secrets(srcNS).Get(ctx, name, metav1.GetOptions{})
		if pullSource.err != nil {
			pullSource.err = fmt.Errorf("image pull Secret %s/%s: %v", srcNS, name, pullSource.err)
		}
	})
	if pullSource.err != nil {
		return pullSource.err
	}
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: PullSecretName, Labels: RunLabels()},
		Type:       pullSource.secret.Type,
		Data:       pullSource.secret.Data,
	}
	if _, err := c.CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("copy image pull Secret %s into namespace %s: %v", Context.ImagePullSecret, ns, err)
	}
	return nil
}
