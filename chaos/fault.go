package chaos

import (
	"context"
	"os"
)

// Fault is one failure to inject and undo.
type Fault interface {
	// Describe says, before anything is done, exactly what Inject will do.
	Describe() string
	// Inject applies the fault. Injecting an active fault again is a no-op.
	Inject(ctx context.Context) error
	// Revert undoes the fault; a target that is already healthy is success.
	Revert(ctx context.Context) error
	// Spec is what the journal stores to rebuild this fault later.
	Spec() Spec
}

// Kind names an injector. The names appear in journals, CLI arguments and
// scenario names: they never change. chaos/faults registers each one.
type Kind string

const (
	NodeStop         Kind = "node-stop"
	NodePause        Kind = "node-pause"
	KubeletStop      Kind = "kubelet-stop"
	NetworkPartition Kind = "network-partition"
	Drain            Kind = "drain"
	PodKill          Kind = "pod-kill"
	KubeletFreeze    Kind = "kubelet-freeze"
	// ComponentStop stops a control-plane component (Params "component").
	ComponentStop Kind = "component-stop"
)

// Spec identifies a fault within its cluster well enough to rebuild it in
// another process; which cluster is recorded once, beside it (Cluster).
type Spec struct {
	Kind Kind `json:"kind"`
	// Node is the target node (all kinds but pod-kill).
	Node string `json:"node,omitempty"`
	// Params are injector-specific facts needed to revert (for example the
	// peer addresses a partition blocks, or that a node was cordoned
	// before a drain and must stay so).
	Params map[string]string `json:"params,omitempty"`
}

// Cluster is the cluster a fault was injected into, as the journal records
// it: how to reach its API, and the kind cluster whose node containers
// node-level faults act on.
type Cluster struct {
	// Kubeconfig is an absolute path, or "" for kubectl's default rules.
	Kubeconfig string `json:"kubeconfig,omitempty"`
	// Context is the kubeconfig context; "" is the current one.
	Context string `json:"context,omitempty"`
	// KindCluster names the kind cluster, "" when it is not one.
	KindCluster string `json:"kindCluster,omitempty"`
	// Server is the API server's URL as the client saw it when planning.
	Server string `json:"server,omitempty"`
	// UID is the kube-system namespace's UID: the cluster's identity, which
	// a revert checks before acting.
	UID string `json:"uid,omitempty"`
	// Docker is the Docker endpoint a kind cluster's node containers run
	// in (DockerEndpoint when planned): kind faults act through it, and a
	// revert refuses another.
	Docker string `json:"docker,omitempty"`
}

// DockerEndpoint is the Docker engine the docker CLI (and so kind) talks
// to from this process: $DOCKER_HOST, else $DOCKER_CONTEXT, else the local
// socket.
func DockerEndpoint() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	if c := os.Getenv("DOCKER_CONTEXT"); c != "" && c != "default" {
		return "context " + c
	}
	return "unix:///var/run/docker.sock"
}

// String names the cluster for people: its context, else its kind cluster.
func (c Cluster) String() string {
	switch {
	case c.Context != "":
		return c.Context
	case c.KindCluster != "":
		return "kind-" + c.KindCluster
	case c.Kubeconfig != "":
		return c.Kubeconfig
	}
	return "(current context)"
}
