// Package faults plans faults safely, injects them behind a journal entry,
// and rebuilds and reverts them from the journal.
package faults

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeproof/kubeproof/chaos"
	"github.com/kubeproof/kubeproof/chaos/drain"
	"github.com/kubeproof/kubeproof/chaos/journal"
	"github.com/kubeproof/kubeproof/chaos/kindnode"
	"github.com/kubeproof/kubeproof/chaos/kubeletfreeze"
	"github.com/kubeproof/kubeproof/chaos/podkill"
	"github.com/kubeproof/kubeproof/internal/kube"
)

// Kinds lists the faults kubeproof can inject.
var Kinds = []string{"node-stop", "node-pause", "kubelet-stop", "network-partition", "drain", "pod-kill", "kubelet-freeze"}

// CreatedByLabel marks the nodes of clusters kubeproof created itself:
// breaking those needs no further consent.
const CreatedByLabel = "kubeproof.io/created-by"

// ErrUnsafe marks a request the safety rules refuse.
var ErrUnsafe = errors.New("refused")

// Request is what to break.
type Request struct {
	Kind string
	Node string
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
}

// Target is the cluster to break.
type Target struct {
	Client      *kube.Client
	KindCluster string
	Kubeconfig  string
	Context     string
}

// Plan checks the safety rules and returns the fault, ready to describe
// and inject; nothing has been changed yet.
func Plan(ctx context.Context, t Target, r Request) (chaos.Fault, error) {
	if !slices.Contains(Kinds, r.Kind) {
		return nil, fmt.Errorf("unknown fault %q: want one of %s", r.Kind, strings.Join(Kinds, ", "))
	}
	nodes, err := t.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	if !r.AllowDisruptive && !CreatedByKubeproof(nodes.Items) {
		return nil, fmt.Errorf("%w: this cluster was not created by kubeproof; pass --allow-disruptive to consent to breaking it", ErrUnsafe)
	}
	if r.Kind == "pod-kill" {
		return &podkill.Kill{Client: t.Client, Namespace: r.Namespace, Selector: r.Selector, Kubeconfig: t.Kubeconfig, Context: t.Context}, nil
	}
	var node *corev1.Node
	for i := range nodes.Items {
		if nodes.Items[i].Name == r.Node {
			node = &nodes.Items[i]
		}
	}
	if node == nil {
		return nil, fmt.Errorf("node %q not found", r.Node)
	}
	if _, cp := node.Labels["node-role.kubernetes.io/control-plane"]; cp && !r.AllowControlPlane {
		return nil, fmt.Errorf("%w: %s is a control-plane node; pass --allow-control-plane to target it", ErrUnsafe, r.Node)
	}
	if r.RunnerNode != "" && r.RunnerNode == r.Node {
		return nil, fmt.Errorf("%w: %s runs kubeproof itself", ErrUnsafe, r.Node)
	}
	if r.Kind == "kubelet-freeze" {
		if !r.AllowPrivilegedPods {
			return nil, fmt.Errorf("%w: kubelet-freeze runs a privileged pod in the host's PID namespace on %s; pass --allow-privileged-pods", ErrUnsafe, r.Node)
		}
		if r.Image == "" || r.For <= 0 {
			return nil, fmt.Errorf("kubelet-freeze needs the workload image and a duration")
		}
		fr := &kubeletfreeze.Freeze{Client: t.Client, Node: r.Node, Image: r.Image, For: r.For, Kubeconfig: t.Kubeconfig, Context: t.Context}
		fr.Plan()
		return fr, nil
	}
	if r.Kind == "drain" {
		d := &drain.Drain{Client: t.Client, Node: r.Node, Kubeconfig: t.Kubeconfig, Context: t.Context}
		return d, d.Plan(ctx)
	}
	if t.KindCluster == "" {
		return nil, fmt.Errorf("%w: %s needs access to the node itself, which kubeproof has only on kind clusters; on other clusters use drain or pod-kill", ErrUnsafe, r.Kind)
	}
	if r.Kind != "network-partition" {
		return FromSpec(chaos.Spec{Kind: r.Kind, Node: r.Node, KindCluster: t.KindCluster})
	}
	// A partition cuts the node off from every other node's address and pod ranges.
	var peers []string
	for _, other := range nodes.Items {
		if other.Name == r.Node {
			continue
		}
		for _, a := range other.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				peers = append(peers, a.Address)
			}
		}
		peers = append(peers, other.Spec.PodCIDRs...)
	}
	return kindnode.Partition{Node: kindnode.Node{Cluster: t.KindCluster, Name: r.Node}, Peers: peers}, nil
}

// CreatedByKubeproof reports whether every node carries kubeproof's mark.
func CreatedByKubeproof(nodes []corev1.Node) bool {
	for _, n := range nodes {
		if n.Labels[CreatedByLabel] != "kubeproof" {
			return false
		}
	}
	return len(nodes) > 0
}

// Inject writes the journal entry, then injects. If injecting fails the
// fault is reverted at once, so a half-applied fault never stays.
func Inject(ctx context.Context, runID string, f chaos.Fault) (journal.Entry, error) {
	spec := f.Spec()
	e := journal.Entry{ID: journal.NewID(runID, spec), RunID: runID, Spec: spec, Describe: f.Describe(), InjectedAt: time.Now().UTC(), PID: os.Getpid()}
	if err := journal.Record(e); err != nil {
		return e, fmt.Errorf("write fault journal before injecting: %w", err)
	}
	if err := f.Inject(ctx); err != nil {
		if rerr := Revert(context.WithoutCancel(ctx), e); rerr != nil {
			return e, errors.Join(fmt.Errorf("inject %s: %w", spec.Kind, err), rerr)
		}
		return e, fmt.Errorf("inject %s: %w", spec.Kind, err)
	}
	return e, nil
}

// Revert undoes a journalled fault and removes its entry.
func Revert(ctx context.Context, e journal.Entry) error {
	f, err := FromSpec(e.Spec)
	if err != nil {
		return err
	}
	if err := f.Revert(ctx); err != nil {
		return fmt.Errorf("revert %s on %s: %w", e.Spec.Kind, e.Spec.Node, err)
	}
	return journal.Remove(e.ID)
}

// RevertAll reverts every journalled fault of a run ("" = all runs),
// newest first, and returns what it did.
func RevertAll(ctx context.Context, runID string) ([]journal.Entry, error) {
	entries, err := journal.List(runID)
	if err != nil {
		return nil, err
	}
	slices.Reverse(entries)
	var errs []error
	var done []journal.Entry
	for _, e := range entries {
		if err := Revert(ctx, e); err != nil {
			errs = append(errs, err)
			continue
		}
		done = append(done, e)
	}
	return done, errors.Join(errs...)
}

// FromSpec rebuilds a fault from its journal spec.
func FromSpec(s chaos.Spec) (chaos.Fault, error) {
	n := kindnode.Node{Cluster: s.KindCluster, Name: s.Node}
	switch s.Kind {
	case "node-stop":
		return kindnode.Stop{Node: n}, nil
	case "node-pause":
		return kindnode.Pause{Node: n}, nil
	case "kubelet-stop":
		return kindnode.KubeletStop{Node: n}, nil
	case "network-partition":
		return kindnode.Partition{Node: n, Peers: strings.Split(s.Params["peers"], ",")}, nil
	case "drain", "pod-kill", "kubelet-freeze":
		c, err := kube.NewClient(s.Kubeconfig, s.Context)
		if err != nil {
			return nil, err
		}
		if s.Kind == "kubelet-freeze" {
			d, _ := time.ParseDuration(s.Params["for"])
			deadline, _ := time.Parse(time.RFC3339, s.Params["deadline"])
			return &kubeletfreeze.Freeze{Client: c, Node: s.Node, Image: s.Params["image"], For: d, Pod: s.Params["pod"], Deadline: deadline, Kubeconfig: s.Kubeconfig, Context: s.Context}, nil
		}
		if s.Kind == "pod-kill" {
			return &podkill.Kill{Client: c, Namespace: s.Params["namespace"], Selector: s.Params["selector"], Kubeconfig: s.Kubeconfig, Context: s.Context}, nil
		}
		was, _ := strconv.ParseBool(s.Params["wasCordoned"])
		return &drain.Drain{Client: c, Node: s.Node, WasCordoned: was, Kubeconfig: s.Kubeconfig, Context: s.Context}, nil
	}
	return nil, fmt.Errorf("journal names unknown fault kind %q", s.Kind)
}
