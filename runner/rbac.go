package runner

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	authv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/kubeproof/kubeproof/internal/clusterlock"
	"github.com/kubeproof/kubeproof/internal/kube"
)

// The least privilege of each profile: what its checks and the runner do
// against the API, and nothing more. `kubeproof rbac` prints it as roles,
// and preflight checks exactly it (SelfSubjectAccessReviews) before
// anything is created. The run's namespaces have generated names, so
// what is done in them is granted cluster-wide.

// grant is one RBAC rule, cluster-wide or in one namespace.
type grant struct {
	rbacv1.PolicyRule
	// Namespace "" grants the rule cluster-wide (a ClusterRole).
	Namespace string
}

func rule(group, resource string, verbs ...string) grant {
	return grant{PolicyRule: rbacv1.PolicyRule{APIGroups: []string{group}, Resources: []string{resource}, Verbs: verbs}}
}

func in(ns string, g grant, names ...string) grant {
	g.Namespace, g.ResourceNames = ns, names
	return g
}

// coreGrants: the quick and core profiles.
var coreGrants = []grant{
	// A namespace per check and for the shared pods; the sweep confirms
	// they are gone.
	rule("", "namespaces", "create", "delete", "list"),
	// Pods are refused in a namespace until its default ServiceAccount
	// exists: the run waits for it.
	rule("", "serviceaccounts", "get"),
	// The image start and the readiness checks place pods on every node;
	// "pod IPs are unique" reads every pod in the cluster.
	rule("", "nodes", "list"),
	rule("", "pods", "create", "delete", "deletecollection", "list", "watch", "patch"),
	// Requests from the pods: one-shot ones through the workload's agent
	// on a port-forward, streamed loads and other containers by exec.
	rule("", "pods/portforward", "create"),
	rule("", "pods/exec", "create"),
	rule("", "pods/log", "get"),
	// Diagnostics read a failed check's events; the image start watches the
	// kubelet's Started events.
	rule("", "events", "list", "watch"),
	rule("", "services", "create", "delete"),
	rule("discovery.k8s.io", "endpointslices", "list", "watch"),
	rule("apps", "deployments", "create", "delete", "get", "list", "watch", "update"),
	rule("apps", "replicasets", "create", "delete", "list", "watch", "patch"),
	// The control plane's checks: ConfigMaps owned by others for the
	// garbage collector, written and watched for the watch and API checks
	// (update, server-side apply and finalizer patches), the leader Leases
	// followed in kube-system.
	rule("", "configmaps", "create", "delete", "get", "list", "watch", "update", "patch"),
	in("kube-system", rule("coordination.k8s.io", "leases", "get", "list", "watch")),
	// The pods checks: a Job with a sidecar, followed until complete.
	rule("batch", "jobs", "create", "delete", "list", "watch"),
	// The storage checks: the default class, a claim, its volume followed
	// until it is deleted with the claim.
	rule("storage.k8s.io", "storageclasses", "list"),
	rule("", "persistentvolumeclaims", "create", "delete", "get", "list", "watch"),
	// A StatefulSet whose pod keeps its claim's data, then moved to
	// another node.
	rule("apps", "statefulsets", "create", "delete", "get", "update"),
	rule("", "persistentvolumes", "list", "watch"),
	// One run per cluster: the Lease kube-system/kubeproof-run.
	in(clusterlock.Namespace, rule("coordination.k8s.io", "leases", "create")),
	in(clusterlock.Namespace, rule("coordination.k8s.io", "leases", "get", "update", "delete"), clusterlock.Name),
	// The cluster's fingerprint in the results: CNI and kube-proxy mode.
	in("kube-system", rule("apps", "daemonsets", "list")),
	in("kube-system", rule("", "configmaps", "get"), "kube-proxy"),
}

// disruptiveGrants: what the disruptive checks of certification add
// (drain, node faults, kubelet-freeze) and what `chaos revert` uses.
var disruptiveGrants = []grant{
	// Cordon and uncordon; nodes followed through a fault.
	rule("", "nodes", "get", "watch", "patch"),
	// kubectl's drain evicts every pod of the node, in any namespace, and
	// reads the DaemonSets that own some.
	rule("", "pods/eviction", "create"),
	rule("apps", "daemonsets", "get"),
	rule("policy", "poddisruptionbudgets", "create", "delete"),
	// kubelet-freeze follows its own pod.
	rule("", "pods", "get"),
	// A fault's journal names the cluster by kube-system's UID.
	rule("", "namespaces", "get"),
}

// certificationGrants: what the checks only the certification profile
// runs add: a Secret of the run's own, mounted in a pod and updated.
var certificationGrants = []grant{
	rule("", "secrets", "create", "update", "delete"),
}

// preUpgradeGrants: what the pre-upgrade checks add: every
// PodDisruptionBudget, the DaemonSets that kubectl's drain filters
// confirm own a pod (they read pods and nodes with the core grants), and
// the API server's metrics.
var preUpgradeGrants = []grant{
	rule("policy", "poddisruptionbudgets", "list"),
	rule("apps", "daemonsets", "get"),
	// The API server's record of deprecated APIs requested.
	{PolicyRule: rbacv1.PolicyRule{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}},
}

// pullSecretGrants: with --image-pull-secret, reading it and copying it
// into the run's namespaces.
func pullSecretGrants(ref string) []grant {
	if ref == "" {
		return nil
	}
	ns, name := kube.SplitSecretRef(ref)
	return []grant{in(ns, rule("", "secrets", "get"), name), rule("", "secrets", "create")}
}

// grantsFor is what a run of the profile needs: disruptive when its
// selection has disruptive checks (the profile and consent).
func grantsFor(profile string, disruptive bool, pullSecret string) []grant {
	g := slices.Clone(coreGrants)
	if disruptive {
		g = append(g, disruptiveGrants...)
	}
	if profile == "certification" {
		g = append(g, certificationGrants...)
	}
	if profile == "pre-upgrade" {
		g = append(g, preUpgradeGrants...)
	}
	return append(g, pullSecretGrants(pullSecret)...)
}

// permissions are the rule's verbs on its resources or URLs, one each, as
// a SelfSubjectAccessReview asks.
func (g grant) permissions() []authv1.SelfSubjectAccessReviewSpec {
	var out []authv1.SelfSubjectAccessReviewSpec
	for _, r := range g.Resources {
		resource, sub, _ := strings.Cut(r, "/")
		for _, v := range g.Verbs {
			a := authv1.ResourceAttributes{Verb: v, Group: g.APIGroups[0], Resource: resource, Subresource: sub, Namespace: g.Namespace}
			if len(g.ResourceNames) > 0 {
				a.Name = g.ResourceNames[0]
			}
			out = append(out, authv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &a})
		}
	}
	for _, u := range g.NonResourceURLs {
		for _, v := range g.Verbs {
			out = append(out, authv1.SelfSubjectAccessReviewSpec{NonResourceAttributes: &authv1.NonResourceAttributes{Path: u, Verb: v}})
		}
	}
	return out
}

func describe(p authv1.SelfSubjectAccessReviewSpec) string {
	if n := p.NonResourceAttributes; n != nil {
		return n.Verb + " " + n.Path
	}
	a := p.ResourceAttributes
	r := a.Resource
	if a.Subresource != "" {
		r += "/" + a.Subresource
	}
	if a.Group != "" {
		r += "." + a.Group
	}
	if a.Name != "" {
		r += " " + a.Name
	}
	if a.Namespace != "" {
		return a.Verb + " " + r + " in " + a.Namespace
	}
	return a.Verb + " " + r
}

// missingPermissions asks the API server, one review per verb and
// resource (all at once), what of grants this identity may not do.
func missingPermissions(ctx context.Context, c kubernetes.Interface, grants []grant) ([]string, error) {
	var attrs []authv1.SelfSubjectAccessReviewSpec
	for _, g := range grants {
		attrs = append(attrs, g.permissions()...)
	}
	allowed := make([]bool, len(attrs))
	errs := make([]error, len(attrs))
	var wg sync.WaitGroup
	for i := range attrs {
		wg.Go(func() {
			review := &authv1.SelfSubjectAccessReview{Spec: attrs[i]}
			res, err := c.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
			if err != nil {
				errs[i] = err
				return
			}
			allowed[i] = res.Status.Allowed
		})
	}
	wg.Wait()
	var missing []string
	for i, a := range attrs {
		if errs[i] != nil {
			return nil, fmt.Errorf("check permission to %s: %v", describe(a), oneLine(errs[i]))
		}
		if !allowed[i] {
			missing = append(missing, describe(a))
		}
	}
	return missing, nil
}

// Subject is who the printed roles are bound to: "serviceaccount:NS:NAME",
// "user:NAME" or "group:NAME"; "" prints the roles alone.
type Subject string

func (s Subject) rbac() (*rbacv1.Subject, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(string(s), ":")
	switch {
	case len(parts) == 3 && parts[0] == "serviceaccount" && parts[1] != "" && parts[2] != "":
		return &rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: parts[1], Name: parts[2]}, nil
	case len(parts) == 2 && parts[0] == "user" && parts[1] != "":
		return &rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: parts[1]}, nil
	case len(parts) == 2 && parts[0] == "group" && parts[1] != "":
		return &rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: parts[1]}, nil
	}
	return nil, fmt.Errorf("subject %q: want serviceaccount:NAMESPACE:NAME, user:NAME or group:NAME", s)
}

// RBAC renders the roles a profile needs as YAML documents (a ClusterRole
// for what is cluster-wide, a Role per other namespace), bound to subject
// when one is given. Disruptive adds what the disruptive checks need.
func RBAC(profile string, disruptive bool, pullSecret string, subject Subject) ([]byte, error) {
	sub, err := subject.rbac()
	if err != nil {
		return nil, err
	}
	name := "kubeproof-" + profile
	labels := map[string]string{"app.kubernetes.io/name": "kubeproof", "kubeproof.io/profile": profile}
	var docs []any
	byNS := map[string][]rbacv1.PolicyRule{}
	var namespaces []string
	for _, g := range grantsFor(profile, disruptive, pullSecret) {
		if _, ok := byNS[g.Namespace]; !ok {
			namespaces = append(namespaces, g.Namespace)
		}
		byNS[g.Namespace] = append(byNS[g.Namespace], g.PolicyRule)
	}
	for _, ns := range namespaces {
		meta := metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}
		kind := "Role"
		if ns == "" {
			kind = "ClusterRole"
			docs = append(docs, &rbacv1.ClusterRole{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: kind}, ObjectMeta: meta, Rules: byNS[ns]})
		} else {
			docs = append(docs, &rbacv1.Role{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: kind}, ObjectMeta: meta, Rules: byNS[ns]})
		}
		if sub == nil {
			continue
		}
		ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: name}
		if ns == "" {
			docs = append(docs, &rbacv1.ClusterRoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"}, ObjectMeta: meta, RoleRef: ref, Subjects: []rbacv1.Subject{*sub}})
		} else {
			docs = append(docs, &rbacv1.RoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"}, ObjectMeta: meta, RoleRef: ref, Subjects: []rbacv1.Subject{*sub}})
		}
	}
	var out bytes.Buffer
	for _, d := range docs {
		b, err := yaml.Marshal(d)
		if err != nil {
			return nil, err
		}
		out.WriteString("---\n")
		out.Write(b)
	}
	return out.Bytes(), nil
}
