package kube

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// PullSecretName is the name of a run's copy of --image-pull-secret in
// each namespace kubeproof creates.
const PullSecretName = "kubeproof-pull"

// SplitSecretRef reads [NAMESPACE/]NAME, the namespace "default" when none
// is given.
func SplitSecretRef(ref string) (ns, name string) {
	if ns, name, ok := strings.Cut(ref, "/"); ok {
		return ns, name
	}
	return metav1.NamespaceDefault, ref
}

// CopyPullSecret copies the registry Secret ref ([NAMESPACE/]NAME) into
// namespace ns as PullSecretName, with labels; a copy already there is
// left as it is (an injection done again).
func CopyPullSecret(ctx context.Context, c kubernetes.Interface, ref, ns string, labels map[string]string) error {
	srcNS, name := SplitSecretRef(ref)
	src, err := c.CoreV1().Secrets(srcNS).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("image pull Secret %s/%s: %v", srcNS, name, err)
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: PullSecretName, Labels: labels}, Type: src.Type, Data: src.Data}
	if _, err := c.CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("copy image pull Secret %s/%s into namespace %s: %v", srcNS, name, ns, err)
	}
	return nil
}
