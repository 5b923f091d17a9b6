package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	authv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubeproof/kubeproof/internal/clusterlock"
	"github.com/kubeproof/kubeproof/internal/exitcode"
	"github.com/kubeproof/kubeproof/internal/kube"
)

// ErrUnusable marks a cluster the run cannot use (exit code 3).
var ErrUnusable = errors.New("cluster unusable")

// reachTimeout bounds the first contact: an unreachable API server must
// be reported in seconds, not after a client's default minutes.
const reachTimeout = 10 * time.Second

// permission is one thing the specs do.
type permission struct {
	verb, group, resource, subresource string
	namespace                          string // "" = cluster-wide
}

func (p permission) String() string {
	r := p.resource
	if p.subresource != "" {
		r += "/" + p.subresource
	}
	if p.group != "" {
		r += "." + p.group
	}
	if p.namespace != "" {
		r += " in " + p.namespace
	}
	return p.verb + " " + r
}

// needed lists every permission the suites use, cluster-wide.
var needed = func() []permission {
	var out []permission
	add := func(group, resource, sub string, verbs ...string) {
		for _, v := range verbs {
			out = append(out, permission{v, group, resource, sub, ""})
		}
	}
	add("", "namespaces", "", "create", "delete", "list")
	add("", "pods", "", "create", "delete", "get", "list", "watch", "update")
	add("", "pods", "exec", "create")
	add("", "pods", "eviction", "create")
	add("", "pods", "log", "get")
	add("", "services", "", "create", "delete", "get", "list")
	add("", "nodes", "", "get", "list", "watch")
	add("", "events", "", "list")
	add("", "configmaps", "", "get")
	add("discovery.k8s.io", "endpointslices", "", "list", "watch")
	add("apps", "deployments", "", "create", "delete", "get", "list", "watch", "update", "patch")
	add("apps", "replicasets", "", "create", "delete", "get", "list", "watch", "update", "patch")
	add("policy", "poddisruptionbudgets", "", "create", "delete")
	// The cluster lock: one Lease, in kube-system.
	for _, v := range []string{"get", "create", "update", "delete"} {
		out = append(out, permission{v, "coordination.k8s.io", "leases", "", clusterlock.Namespace})
	}
	return out
}()

// preflight checks, before any spec runs, that the cluster answers, that
// this identity may do what the specs do, and that nodes are Ready.
func preflight(ctx context.Context, c *kube.Client) (version string, err error) {
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
	var missing []string
	for _, p := range needed {
		review := &authv1.SelfSubjectAccessReview{Spec: authv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authv1.ResourceAttributes{Verb: p.verb, Group: p.group, Resource: p.resource, Subresource: p.subresource, Namespace: p.namespace},
		}}
		res, err := quick.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
		if err != nil {
			return "", fmt.Errorf("%w: check permissions: %v", ErrUnusable, oneLine(err))
		}
		if !res.Status.Allowed {
			missing = append(missing, p.String())
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("%w: missing permissions (cluster-wide unless named): %s; grant them (e.g. bind the cluster-admin ClusterRole to this identity for the run)", ErrUnusable, strings.Join(missing, ", "))
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
