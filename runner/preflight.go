package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubeproof/kubeproof/internal/exitcode"
	"github.com/kubeproof/kubeproof/internal/kube"
)

// ErrUnusable marks a cluster the run cannot use (exit code 3).
var ErrUnusable = errors.New("cluster unusable")

// reachTimeout bounds the first contact: an unreachable API server must
// be reported in seconds, not after a client's default minutes.
const reachTimeout = 10 * time.Second

// preflight checks, before anything is created, that the cluster answers,
// that this identity may do exactly what the run needs (grants), and that
// nodes are Ready.
func preflight(ctx context.Context, c *kube.Client, profile string, grants []grant) (version string, err error) {
	cfg := rest.CopyConfig(c.Config)
	cfg.Timeout = reachTimeout
	quick, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrUnusable, err)
	}
	v, err := quick.Discovery().ServerVersion()
	if err != nil {
		return "", fmt.Errorf("%w: cannot reach the API server at %s within %s (%v): check --kubeconfig/--context and that the cluster is up", ErrUnusable, c.Config.Host, reachTimeout, oneLine(err))
	}
	missing, err := missingPermissions(ctx, quick, grants)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrUnusable, err)
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("%w: this identity may not do what the %s profile needs: %s (cluster-wide unless named); `kubeproof rbac --profile %s --subject ...` prints the roles that grant it", ErrUnusable, profile, strings.Join(missing, ", "), profile)
	}
	nodes, err := quick.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", fmt.Errorf("%w: list nodes: %v", ErrUnusable, oneLine(err))
	}
	ready := 0
	var notReady []string
	for _, n := range nodes.Items {
		if kube.NodeReady(&n) {
			ready++
		} else {
			notReady = append(notReady, n.Name)
		}
	}
	if ready == 0 {
		return "", fmt.Errorf("%w: no Ready node (not Ready: %s)", ErrUnusable, strings.Join(notReady, ", "))
	}
	return v.GitVersion, nil
}

func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

// checkPullSecret makes sure --image-pull-secret names a registry Secret
// this identity can read, before anything is created.
func checkPullSecret(ctx context.Context, c *kube.Client, ref string) error {
	if ref == "" {
		return nil
	}
	ns, name := kube.SplitSecretRef(ref)
	s, err := c.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return exitcode.EnvironmentError(fmt.Errorf("--image-pull-secret %s/%s: %v: create it (kubectl create secret docker-registry %s -n %s ...) or name another", ns, name, oneLine(err), name, ns))
	}
	if s.Type != corev1.SecretTypeDockerConfigJson && s.Type != corev1.SecretTypeDockercfg {
		return exitcode.UsageError(fmt.Errorf("--image-pull-secret %s/%s has type %s: want %s (kubectl create secret docker-registry)", ns, name, s.Type, corev1.SecretTypeDockerConfigJson))
	}
	return nil
}
