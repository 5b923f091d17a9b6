package framework

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeproof/kubeproof/fixtures"
	"github.com/kubeproof/kubeproof/internal/kube"
)

// PullSecretName is the run's copy of --image-pull-secret in each
// namespace it creates.
const PullSecretName = kube.PullSecretName

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

// copyPullSecret puts a copy of the --image-pull-secret Secret into ns,
// labelled with the run; it does nothing without that flag.
func copyPullSecret(ctx context.Context, c *kube.Client, ns string) error {
	if Context.ImagePullSecret == "" {
		return nil
	}
	return kube.CopyPullSecret(ctx, c, Context.ImagePullSecret, ns, RunLabels())
}
