// Package faults plans faults safely, injects them behind a journal entry,
// and rebuilds and reverts them from the journal. Every kind of fault is
// registered once, in registry.go.
package faults

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeproof/kubeproof/chaos"
	"github.com/kubeproof/kubeproof/chaos/journal"
	"github.com/kubeproof/kubeproof/internal/kindstate"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/internal/proc"
)

// ErrUnsafe marks a request the safety rules refuse.
var ErrUnsafe = errors.New("refused")

// ErrBadRequest marks a request that cannot be planned as given (a node
// that does not exist, a missing parameter): the caller's input is wrong.
var ErrBadRequest = errors.New("bad fault request")

// Request is what to break.
type Request struct {
	Kind chaos.Kind
	Node string
	// Component is the control-plane component component-stop stops.
	Component string
	// Namespace and Selector choose the pods of pod-kill.
	Namespace, Selector string
	// AllowDisruptive is the user's consent to break a cluster kubeproof
	// did not create.
	AllowDisruptive bool
	// AllowControlPlane permits a control-plane node as the target.
	AllowControlPlane bool
	// RunnerNode is the node the runner itself runs on, if any: never a target.
	RunnerNode string
	// AllowPrivilegedPods permits kubelet-freeze, which runs a privileged
	// hostPID pod; Image and For are that pod's image and freeze time.
	AllowPrivilegedPods bool
	Image               string
	For                 time.Duration
	// PullSecret ([NAMESPACE/]NAME) lets the pod pull Image.
	PullSecret string
	// RunID and Owner ("host/pid", default this process) go on the objects
	// a fault creates (kubelet-freeze's namespace and pod), so that
	// `cleanup --run-id` finds them and leaves them alone while Owner lives.
	RunID, Owner string
}

// Target is the cluster to break: a client to plan and act with, and the
// cluster's identity, which Inject journals so that Revert reaches the same
// cluster from another process. Its KindCluster enables node-level faults.
type Target struct {
	Client kubernetes.Interface
	chaos.Cluster
	// Owned: kubeproof created this cluster on this machine (decided by the
	// caller from internal/kindstate: the local record, the Docker engine
	// and the server), which is consent to break it. Node labels never are.
	Owned bool
	// NotOwnedWhy says why Owned is false, for the refusal.
	NotOwnedWhy string
}

// TargetFor is the cluster a client talks to, as a fault target: its
// identity for the journal, and whether kubeproof created it on this
// machine (the kind cluster's local record names the client's server).
func TargetFor(ctx context.Context, c *kube.Client, kubeconfig, kindCluster string) Target {
	if kubeconfig != "" {
		if abs, err := filepath.Abs(kubeconfig); err == nil {
			kubeconfig = abs
		}
	}
	owned, why := kindstate.Created(kindCluster, c.Config.Host)
	return Target{
		Client:      c,
		Cluster:     chaos.Cluster{Kubeconfig: kubeconfig, Context: c.ContextName, KindCluster: kindCluster, Server: c.Config.Host, UID: clusterUID(ctx, c), Docker: dockerOf(kindCluster)},
		Owned:       owned,
		NotOwnedWhy: why,
	}
}

// dockerOf is the Docker endpoint of a kind cluster's nodes, "" when the
// cluster is not kind.
func dockerOf(kindCluster string) string {
	if kindCluster == "" {
		return ""
	}
	return chaos.DockerEndpoint()
}

// Plan checks the safety rules and returns the fault, ready to describe
// and inject; nothing has been changed yet.
func Plan(ctx context.Context, t Target, r Request) (chaos.Fault, error) {
	reg, err := lookup(r.Kind)
	if err != nil {
		return nil, err
	}
	nodes, err := t.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	if !r.AllowDisruptive && !t.Owned {
		why := t.NotOwnedWhy
		if why == "" {
			why = "not created by kubeproof on this machine"
		}
		return nil, fmt.Errorf("%w: cluster %s (server %s): %s; pass --allow-disruptive to consent to breaking it", ErrUnsafe, t.Cluster, orUnknown(t.Server), why)
	}
	if !reg.OnNode {
		return reg.plan(ctx, t, r, nodes.Items)
	}
	if err := oneNodeAtATime(t.Cluster); err != nil {
		return nil, err
	}
	i := slices.IndexFunc(nodes.Items, func(n corev1.Node) bool { return n.Name == r.Node })
	if i < 0 {
		return nil, fmt.Errorf("%w: node %q not found in cluster %s", ErrBadRequest, r.Node, t.Cluster)
	}
	if !r.AllowControlPlane {
		why, err := controlPlane(ctx, t.Client, &nodes.Items[i])
		if err != nil {
			return nil, err
		}
		if why != "" {
			return nil, fmt.Errorf("%w: %s is a control-plane node (%s); pass --allow-control-plane to target it", ErrUnsafe, r.Node, why)
		}
	}
	if runner := runnerNode(r.RunnerNode, nodes.Items); runner != "" && runner == r.Node {
		return nil, fmt.Errorf("%w: %s runs kubeproof itself", ErrUnsafe, r.Node)
	}
	if reg.Access == KindNode && t.KindCluster == "" {
		return nil, fmt.Errorf("%w: %s needs access to the node itself, which kubeproof has only on kind clusters; on other clusters use drain or pod-kill", ErrUnsafe, r.Kind)
	}
	return reg.plan(ctx, t, r, nodes.Items)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// Inject writes the journal entry, then injects. If injecting fails the
// fault is reverted at once, so a half-applied fault never stays.
func Inject(ctx context.Context, runID string, t Target, f chaos.Fault) (journal.Entry, error) {
	e, err := newEntry(runID, t.Cluster, f)
	if err != nil {
		return e, err
	}
	if err := journal.Record(e); err != nil {
		return e, fmt.Errorf("write fault journal before injecting: %w", err)
	}
	if err := f.Inject(ctx); err != nil {
		if rerr := Revert(context.WithoutCancel(ctx), e); rerr != nil {
			return e, errors.Join(fmt.Errorf("inject %s: %w", e.Spec.Kind, err), rerr)
		}
		return e, fmt.Errorf("inject %s: %w", e.Spec.Kind, err)
	}
	return e, nil
}

// newEntry is the journal entry of a fault about to be injected. Only a
// registered kind is journalled: Revert must be able to rebuild it.
func newEntry(runID string, cluster chaos.Cluster, f chaos.Fault) (journal.Entry, error) {
	spec := f.Spec()
	if _, err := lookup(spec.Kind); err != nil {
		return journal.Entry{}, err
	}
	// Revert may run from another directory: a relative path would name
	// another file there.
	if cluster.Kubeconfig != "" {
		abs, err := filepath.Abs(cluster.Kubeconfig)
		if err != nil {
			return journal.Entry{}, fmt.Errorf("absolute path of kubeconfig %s: %w", cluster.Kubeconfig, err)
		}
		cluster.Kubeconfig = abs
	}
	return journal.Entry{ID: journal.NewID(runID, spec), RunID: runID, Cluster: cluster, Spec: spec,
		Describe: f.Describe(), InjectedAt: time.Now().UTC(), PID: os.Getpid(), Owner: proc.Owner(os.Getpid())}, nil
}

// Revert undoes a journalled fault and removes its entry.
func Revert(ctx context.Context, e journal.Entry) error {
	reg, err := lookup(e.Spec.Kind)
	if err != nil {
		return fmt.Errorf("journal entry %s: %w", e.ID, err)
	}
	// An irreversible fault has nothing to undo; closing its entry needs
	// no access to the cluster.
	if !reg.Irreversible {
		f, err := rebuild(ctx, e)
		if err != nil {
			return err
		}
		if err := f.Revert(ctx); err != nil {
			return fmt.Errorf("revert %s on %s in %s: %w", e.Spec.Kind, e.Spec.Node, e.Cluster, err)
		}
	}
	if err := journal.Remove(e.ID); err != nil {
		return fmt.Errorf("remove journal entry %s: %w", e.ID, err)
	}
	return nil
}

// RevertAll reverts every journalled fault of a run ("" = all runs),
// newest first, and returns what it did. A fault whose injecting process
// is still alive belongs to a live run, which reverts it itself: it is
// skipped (and returned as such) unless force.
func RevertAll(ctx context.Context, runID string, force bool) (done, skipped []journal.Entry, err error) {
	entries, listErr := journal.List(runID)
	slices.Reverse(entries)
	var errs []error
	if listErr != nil {
		errs = append(errs, listErr)
	}
	for _, e := range entries {
		if !force && e.Live() {
			skipped = append(skipped, e)
			continue
		}
		if err := Revert(ctx, e); err != nil {
			errs = append(errs, err)
			continue
		}
		done = append(done, e)
	}
	return done, skipped, errors.Join(errs...)
}

// controlPlane says why a node is a control-plane node, "" if it is not:
// its role label (current or legacy), its taint, or a control-plane
// component's mirror pod (a static pod) running on it, which catches
// clusters that label and taint nothing.
func controlPlane(ctx context.Context, c kubernetes.Interface, n *corev1.Node) (string, error) {
	for _, key := range []string{"node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master"} {
		if _, ok := n.Labels[key]; ok {
			return "label " + key, nil
		}
		for _, taint := range n.Spec.Taints {
			if taint.Key == key {
				return "taint " + key, nil
			}
		}
	}
	pods, err := c.CoreV1().Pods(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{})
	if err != nil {
		// Unknown is not "no": the node might run the control plane.
		return "", fmt.Errorf("tell whether %s runs the control plane (list kube-system pods): %w", n.Name, err)
	}
	for _, p := range pods.Items {
		if p.Spec.NodeName != n.Name {
			continue
		}
		if _, mirror := p.Annotations[corev1.MirrorPodAnnotationKey]; !mirror {
			continue
		}
		for _, component := range []string{"kube-apiserver", "etcd", "kube-controller-manager", "kube-scheduler"} {
			if p.Labels["component"] == component || strings.HasPrefix(p.Name, component+"-") {
				return "static pod " + p.Name, nil
			}
		}
	}
	return "", nil
}

// runnerNode is the node kubeproof runs on, if it runs on one: the one
// given, else $KUBEPROOF_NODE_NAME (set it from the downward API when the
// runner is a pod), else the node named like this host.
func runnerNode(given string, nodes []corev1.Node) string {
	if given != "" {
		return given
	}
	if n := os.Getenv("KUBEPROOF_NODE_NAME"); n != "" {
		return n
	}
	host, err := os.Hostname()
	if err != nil {
		return ""
	}
	for _, n := range nodes {
		if n.Name == host {
			return host
		}
	}
	return ""
}

// oneNodeAtATime refuses a node fault while the journal holds another on
// the same cluster, whichever process injected it.
func oneNodeAtATime(c chaos.Cluster) error {
	entries, err := journal.List("")
	if err != nil {
		// An unreadable entry might be a fault on this cluster: do not guess.
		return fmt.Errorf("%w: %v", ErrUnsafe, err)
	}
	for _, e := range entries {
		info, lerr := Lookup(e.Spec.Kind)
		if lerr != nil || !info.OnNode || !sameIdentity(e.Cluster, c) {
			continue
		}
		return fmt.Errorf("%w: cluster %s already has a fault on a node: %s on %s (run %s, since %s); one node at a time: `kubeproof chaos revert --run-id %s` undoes it",
			ErrUnsafe, c, e.Spec.Kind, e.Spec.Node, e.RunID, e.InjectedAt.Local().Format(time.TimeOnly), e.RunID)
	}
	return nil
}

// sameIdentity: two records name one cluster when their kube-system UIDs
// match, else their servers, else their kind cluster names.
func sameIdentity(a, b chaos.Cluster) bool {
	switch {
	case a.UID != "" && b.UID != "":
		return a.UID == b.UID
	case a.Server != "" && b.Server != "":
		return strings.TrimRight(a.Server, "/") == strings.TrimRight(b.Server, "/")
	}
	return a.KindCluster != "" && a.KindCluster == b.KindCluster
}
