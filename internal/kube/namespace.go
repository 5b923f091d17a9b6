package kube

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// CreateNamespace creates a namespace named prefix-<random> with labels
// and annotations, ready for pods (see WaitDefaultServiceAccount).
func (c *Client) CreateNamespace(ctx context.Context, prefix string, labels, annotations map[string]string) (string, error) {
	ns, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-", Labels: labels, Annotations: annotations},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("create namespace %s-*: %w", prefix, err)
	}
	return ns.Name, WaitDefaultServiceAccount(ctx, c, ns.Name)
}

// defaultServiceAccountTimeout: kube-controller-manager creates the
// ServiceAccount within milliseconds of the namespace; one that takes
// this long is down or restarting.
const defaultServiceAccountTimeout = 30 * time.Second

// WaitDefaultServiceAccount waits until namespace ns has its "default"
// ServiceAccount: until then the API server refuses every pod there
// ("error looking up service account"), which right after a control plane
// restart can take seconds.
func WaitDefaultServiceAccount(ctx context.Context, c kubernetes.Interface, ns string) error {
	var last error
	ctx, cancel := context.WithTimeout(ctx, defaultServiceAccountTimeout)
	defer cancel()
	// Usually there within milliseconds: ask again soon, then every 250 ms
	// until the timeout. (wait.Backoff with a Cap would stop once the cap
	// is reached, after about 0.6 s: a loaded controller manager then
	// failed the run.)
	for delay := 5 * time.Millisecond; ctx.Err() == nil; delay = min(2*delay, 250*time.Millisecond) {
		if _, last = c.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{}); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
	}
	return fmt.Errorf("namespace %s: want its default ServiceAccount within %s (created by kube-controller-manager; is it running?), got %v", ns, defaultServiceAccountTimeout, last)
}

// DeleteNamespaceNow deletes a namespace, its pods first and at once
// (grace period 0): whoever made it is done with it, and nothing of it
// runs on any node a moment later. The namespace controller removes the
// rest about 5 s after the request (its fixed grace period); a terminating
// namespace refuses new objects meanwhile.
func DeleteNamespaceNow(ctx context.Context, c kubernetes.Interface, ns string) error {
	err := c.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: new(int64)}, metav1.ListOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete the pods of namespace %s: %w", ns, err)
	}
	err = c.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete namespace %s: %w", ns, err)
	}
	return nil
}

// ReleaseFinalizer removes finalizer (kubeproof's own) from the
// ConfigMaps of namespace ns that carry it, and no other: a JSON patch
// that first tests the finalizer is still where it was read.
func ReleaseFinalizer(ctx context.Context, c kubernetes.Interface, ns, finalizer string) error {
	api := c.CoreV1().ConfigMaps(ns)
	list, err := api.List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list the ConfigMaps of namespace %s for finalizer %s: %w", ns, finalizer, err)
	}
	for _, cm := range list.Items {
		i := slices.Index(cm.Finalizers, finalizer)
		if i < 0 {
			continue
		}
		patch := fmt.Sprintf(`[{"op":"test","path":"/metadata/finalizers/%d","value":%q},{"op":"remove","path":"/metadata/finalizers/%d"}]`, i, finalizer, i)
		if _, err := api.Patch(ctx, cm.Name, types.JSONPatchType, []byte(patch), metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("remove finalizer %s from ConfigMap %s/%s: %w", finalizer, ns, cm.Name, err)
		}
	}
	return nil
}
