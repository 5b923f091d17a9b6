package chaos

import "context"

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

// Spec identifies a fault well enough to rebuild it in another process.
type Spec struct {
	// Kind is the injector: node-stop, node-pause, kubelet-stop,
	// network-partition, drain, pod-kill.
	Kind string `json:"kind"`
	// Node is the target node (all kinds but pod-kill).
	Node string `json:"node,omitempty"`
	// KindCluster is the kind cluster of node-level faults.
	KindCluster string `json:"kindCluster,omitempty"`
	// Kubeconfig and Context reach the cluster for API-level faults.
	Kubeconfig string `json:"kubeconfig,omitempty"`
	Context    string `json:"context,omitempty"`
	// Params are injector-specific facts needed to revert (for example the
	// peer addresses a partition blocks, or that a node was cordoned
	// before a drain and must stay so).
	Params map[string]string `json:"params,omitempty"`
}
