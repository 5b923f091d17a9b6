package faults

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeproof/kubeproof/chaos"
	"github.com/kubeproof/kubeproof/chaos/drain"
	"github.com/kubeproof/kubeproof/chaos/journal"
	"github.com/kubeproof/kubeproof/chaos/kindnode"
	"github.com/kubeproof/kubeproof/chaos/kubeletfreeze"
	"github.com/kubeproof/kubeproof/chaos/podkill"
	"github.com/kubeproof/kubeproof/internal/kube"
)

// Access is what a fault needs to reach its target.
type Access int

const (
	// API faults act through the Kubernetes API: any cluster.
	API Access = iota
	// KindNode faults act on a node's container through Docker, which
	// kubeproof reaches only on kind clusters.
	KindNode
)

// Info is what kubeproof knows about a kind of fault before planning one.
type Info struct {
	Kind   chaos.Kind
	Access Access
	// OnNode faults target one node, which the node rules must allow;
	// the others (pod-kill) target pods by selector.
	OnNode bool
	// Irreversible faults cannot be undone (their Describe says so):
	// reverting one only closes its journal entry.
	Irreversible bool
}

// registration is one kind of fault: what it needs, how Plan builds it
// from a request that passed the common safety rules, and how Revert
// rebuilds it from its journal entry.
type registration struct {
	Info
	// plan may check more rules and fix what Inject will do; nodes are
	// the cluster's nodes.
	plan func(ctx context.Context, t Target, r Request, nodes []corev1.Node) (chaos.Fault, error)
	// rebuild gets the cluster's client for API faults, nil for KindNode
	// ones (their cluster is kindCluster).
	rebuild func(s chaos.Spec, kindCluster string, c kubernetes.Interface) (chaos.Fault, error)
}

// registry is every fault kubeproof can inject, in the order help text
// lists them.
var registry = []registration{
	{
		Info: Info{Kind: chaos.NodeStop, Access: KindNode, OnNode: true},
		plan: func(_ context.Context, t Target, r Request, _ []corev1.Node) (chaos.Fault, error) {
			return kindnode.Stop{Node: kindnode.Node{Cluster: t.KindCluster, Name: r.Node}}, nil
		},
		rebuild: func(s chaos.Spec, kindCluster string, _ kubernetes.Interface) (chaos.Fault, error) {
			return kindnode.Stop{Node: kindnode.Node{Cluster: kindCluster, Name: s.Node}}, nil
		},
	},
	{
		Info: Info{Kind: chaos.NodePause, Access: KindNode, OnNode: true},
		plan: func(_ context.Context, t Target, r Request, _ []corev1.Node) (chaos.Fault, error) {
			return kindnode.Pause{Node: kindnode.Node{Cluster: t.KindCluster, Name: r.Node}}, nil
		},
		rebuild: func(s chaos.Spec, kindCluster string, _ kubernetes.Interface) (chaos.Fault, error) {
			return kindnode.Pause{Node: kindnode.Node{Cluster: kindCluster, Name: s.Node}}, nil
		},
	},
	{
		Info: Info{Kind: chaos.KubeletStop, Access: KindNode, OnNode: true},
		plan: func(_ context.Context, t Target, r Request, _ []corev1.Node) (chaos.Fault, error) {
			return kindnode.KubeletStop{Node: kindnode.Node{Cluster: t.KindCluster, Name: r.Node}}, nil
		},
		rebuild: func(s chaos.Spec, kindCluster string, _ kubernetes.Interface) (chaos.Fault, error) {
			return kindnode.KubeletStop{Node: kindnode.Node{Cluster: kindCluster, Name: s.Node}}, nil
		},
	},
	{
		Info: Info{Kind: chaos.NetworkPartition, Access: KindNode, OnNode: true},
		plan: func(_ context.Context, t Target, r Request, nodes []corev1.Node) (chaos.Fault, error) {
			p := kindnode.Partition{Node: kindnode.Node{Cluster: t.KindCluster, Name: r.Node}, Peers: peersOf(r.Node, nodes)}
			if err := p.Validate(); err != nil {
				return nil, fmt.Errorf("%w: partition of %s: %v", ErrUnsafe, r.Node, err)
			}
			return p, nil
		},
		rebuild: func(s chaos.Spec, kindCluster string, _ kubernetes.Interface) (chaos.Fault, error) {
			var peers []string
			if p := s.Params["peers"]; p != "" {
				peers = strings.Split(p, ",")
			}
			return kindnode.Partition{Node: kindnode.Node{Cluster: kindCluster, Name: s.Node}, Peers: peers}, nil
		},
	},
	{
		Info: Info{Kind: chaos.Drain, Access: API, OnNode: true},
		plan: func(ctx context.Context, t Target, r Request, _ []corev1.Node) (chaos.Fault, error) {
			d := &drain.Drain{Client: t.Client, Node: r.Node}
			err := d.Plan(ctx)
			switch {
			case errors.Is(err, drain.ErrRefused):
				return nil, fmt.Errorf("%w: %w", ErrUnsafe, err)
			case err != nil:
				return nil, fmt.Errorf("plan drain of %s: %w", r.Node, err)
			}
			return d, nil
		},
		rebuild: func(s chaos.Spec, _ string, c kubernetes.Interface) (chaos.Fault, error) {
			was, _ := strconv.ParseBool(s.Params["wasCordoned"])
			return &drain.Drain{Client: c, Node: s.Node, WasCordoned: was}, nil
		},
	},
	{
		Info: Info{Kind: chaos.PodKill, Access: API, Irreversible: true},
		plan: func(_ context.Context, t Target, r Request, _ []corev1.Node) (chaos.Fault, error) {
			return &podkill.Kill{Client: t.Client, Namespace: r.Namespace, Selector: r.Selector}, nil
		},
		rebuild: func(s chaos.Spec, _ string, c kubernetes.Interface) (chaos.Fault, error) {
			return &podkill.Kill{Client: c, Namespace: s.Params["namespace"], Selector: s.Params["selector"]}, nil
		},
	},
	{
		Info: Info{Kind: chaos.KubeletFreeze, Access: API, OnNode: true},
		plan: func(_ context.Context, t Target, r Request, _ []corev1.Node) (chaos.Fault, error) {
			if !r.AllowPrivilegedPods {
				return nil, fmt.Errorf("%w: kubelet-freeze runs a privileged pod in the host's PID namespace on %s; pass --allow-privileged-pods", ErrUnsafe, r.Node)
			}
			if r.Image == "" || r.For <= 0 {
				return nil, fmt.Errorf("%w: kubelet-freeze needs the workload image and a positive --for", ErrBadRequest)
			}
			fr := &kubeletfreeze.Freeze{Client: t.Client, Node: r.Node, Image: r.Image, PullSecret: r.PullSecret, For: r.For, RunID: r.RunID, Owner: r.Owner}
			fr.Plan()
			return fr, nil
		},
		rebuild: func(s chaos.Spec, _ string, c kubernetes.Interface) (chaos.Fault, error) {
			// A damaged duration or deadline must not block the revert:
			// it still waits at most a minute, then deletes the pod.
			d, _ := time.ParseDuration(s.Params["for"])
			deadline, _ := time.Parse(time.RFC3339, s.Params["deadline"])
			return &kubeletfreeze.Freeze{Client: c, Node: s.Node, Image: s.Params["image"], For: d, Pod: s.Params["pod"], Deadline: deadline, Namespace: s.Params["namespace"]}, nil
		},
	},
	{
		Info: Info{Kind: chaos.ComponentStop, Access: KindNode, OnNode: true},
		plan: func(_ context.Context, t Target, r Request, _ []corev1.Node) (chaos.Fault, error) {
			if err := kindnode.ValidComponent(r.Component); err != nil {
				return nil, fmt.Errorf("%w: component-stop: %v (--component)", ErrBadRequest, err)
			}
			return kindnode.ComponentStop{Node: kindnode.Node{Cluster: t.KindCluster, Name: r.Node}, Component: r.Component}, nil
		},
		rebuild: func(s chaos.Spec, kindCluster string, _ kubernetes.Interface) (chaos.Fault, error) {
			return kindnode.ComponentStop{Node: kindnode.Node{Cluster: kindCluster, Name: s.Node}, Component: s.Params["component"]}, nil
		},
	},
}

// Kinds names the registered faults, for help text.
var Kinds = func() []string {
	var names []string
	for _, r := range registry {
		names = append(names, string(r.Kind))
	}
	return names
}()

// ErrUnknownKind marks a fault kind that is not registered.
var ErrUnknownKind = errors.New("unknown fault")

// Lookup says what a kind of fault needs; an unknown kind is refused with
// the list of known ones.
func Lookup(k chaos.Kind) (Info, error) {
	r, err := lookup(k)
	return r.Info, err
}

func lookup(k chaos.Kind) (registration, error) {
	for _, r := range registry {
		if r.Kind == k {
			return r, nil
		}
	}
	return registration{}, fmt.Errorf("%w %q: want one of %s", ErrUnknownKind, k, strings.Join(Kinds, ", "))
}

// rebuild makes a journalled fault again, in the cluster its entry names.
func rebuild(ctx context.Context, e journal.Entry) (chaos.Fault, error) {
	r, err := lookup(e.Spec.Kind)
	if err != nil {
		return nil, fmt.Errorf("journal entry %s: %w", e.ID, err)
	}
	var c kubernetes.Interface
	if r.Access == KindNode && e.Cluster.KindCluster == "" {
		// Without a cluster name the node check would accept any container.
		return nil, fmt.Errorf("journal entry %s: %s names no kind cluster", e.ID, e.Spec.Kind)
	}
	if r.Access == KindNode && e.Cluster.Docker != "" && e.Cluster.Docker != chaos.DockerEndpoint() {
		// A same-named kind cluster in another Docker engine is another cluster.
		return nil, fmt.Errorf("journal entry %s (%s on %s): %w: it belongs to %s in the Docker engine at %s; this shell's Docker is %s: set DOCKER_HOST to that engine", e.ID, e.Spec.Kind, e.Spec.Node, ErrWrongCluster, e.Cluster, e.Cluster.Docker, chaos.DockerEndpoint())
	}
	if r.Access == API {
		// The client must reach the cluster the fault was injected into,
		// not whatever this kubeconfig and context point at now. KindNode
		// faults refuse a container that is not a node of
		// e.Cluster.KindCluster (kindnode's check).
		kc, err := kube.NewClient(e.Cluster.Kubeconfig, e.Cluster.Context)
		if err != nil {
			return nil, fmt.Errorf("reach cluster %s of journal entry %s: %w", e.Cluster, e.ID, err)
		}
		if err := sameCluster(ctx, e.Cluster, kc.Config.Host, kc); err != nil {
			return nil, fmt.Errorf("journal entry %s (%s on %s): %w", e.ID, e.Spec.Kind, e.Spec.Node, err)
		}
		c = kc
	}
	return r.rebuild(e.Spec, e.Cluster.KindCluster, c)
}

// peersOf are the addresses a partition of node cuts it off from: every
// other node's internal IPs and pod ranges.
func peersOf(node string, nodes []corev1.Node) []string {
	var peers []string
	for _, other := range nodes {
		if other.Name == node {
			continue
		}
		for _, a := range other.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				peers = append(peers, a.Address)
			}
		}
		peers = append(peers, other.Spec.PodCIDRs...)
	}
	return peers
}

// ErrWrongCluster marks a revert whose kubeconfig now reaches another
// cluster than the one the fault was injected into.
var ErrWrongCluster = errors.New("refused: not the cluster the fault belongs to")

// sameCluster checks that host and c reach the cluster the fault was
// journalled against: the same API server and the same kube-system
// namespace (its UID is the cluster's identity; a cluster rebuilt at the
// same address has another). What was not recorded is not compared.
func sameCluster(ctx context.Context, want chaos.Cluster, host string, c kubernetes.Interface) error {
	if want.Server != "" && strings.TrimRight(want.Server, "/") != strings.TrimRight(host, "/") {
		return fmt.Errorf("%w: it belongs to %s at %s; the kubeconfig now reaches %s: switch back to that cluster, or pass its kubeconfig", ErrWrongCluster, want, want.Server, host)
	}
	if want.UID == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ns, err := c.CoreV1().Namespaces().Get(ctx, metav1.NamespaceSystem, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("cannot tell whether %s is the cluster the fault belongs to (kube-system: %v): nothing reverted", host, err)
	}
	if string(ns.UID) != want.UID {
		return fmt.Errorf("%w: it belongs to %s (kube-system %s); %s is another cluster (kube-system %s)", ErrWrongCluster, want, want.UID, host, ns.UID)
	}
	return nil
}

// clusterUID is the UID of the kube-system namespace, "" if unreadable.
func clusterUID(ctx context.Context, c kubernetes.Interface) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ns, err := c.CoreV1().Namespaces().Get(ctx, metav1.NamespaceSystem, metav1.GetOptions{})
	if err != nil {
		return ""
	}
	return string(ns.UID)
}
