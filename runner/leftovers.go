package runner

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubeproof/kubeproof/chaos/faults"
	"github.com/kubeproof/kubeproof/chaos/kindnode"
	"github.com/kubeproof/kubeproof/internal/kube"
)

// nodeHealth is what a fault could leave wrong on a node.
type nodeHealth struct {
	ready, cordoned, tainted bool
}

// healthyRecoveryWait bounds how long a node that was healthy before the
// run may take to be Ready again after its fault was reverted.
const healthyRecoveryWait = 2 * time.Minute

func nodeStates(ctx context.Context, c *kube.Client) map[string]nodeHealth {
	out := map[string]nodeHealth{}
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return out
	}
	for _, n := range nodes.Items {
		h := nodeHealth{ready: kube.NodeReady(&n), cordoned: n.Spec.Unschedulable}
		for _, t := range n.Spec.Taints {
			if t.Key == corev1.TaintNodeUnreachable || t.Key == corev1.TaintNodeNotReady {
				h.tainted = true
			}
		}
		out[n.Name] = h
	}
	return out
}

// leftoverFaults reverts any fault this run left journalled, then checks
// that every node healthy before the run is healthy again: not cordoned or
// tainted, and, given the kind cluster (a run that may break nodes), no
// stopped or paused node container, stopped kubelet or partition rule.
// Each finding is one line; any finding fails the run.
func leftoverFaults(ctx context.Context, c *kube.Client, kindCluster, runID string, before map[string]nodeHealth) []string {
	var found []string
	// The run's own faults: its spec processes are done, so force.
	reverted, _, err := faults.RevertAll(ctx, runID, true)
	for _, e := range reverted {
		found = append(found, fmt.Sprintf("fault %s on %s was still active after the run (reverted now)", e.Spec.Kind, e.Spec.Node))
	}
	if err != nil {
		found = append(found, fmt.Sprintf("could not revert a fault: %v (run `kubeproof chaos revert --run-id %s`)", err, runID))
	}
	var after map[string]nodeHealth
	_ = wait.PollUntilContextTimeout(ctx, 2*time.Second, healthyRecoveryWait, true, func(ctx context.Context) (bool, error) {
		after = nodeStates(ctx, c)
		for name, was := range before {
			now := after[name]
			if was.ready && (!now.ready || now.tainted) {
				return false, nil
			}
		}
		return true, nil
	})
	var kindNodes []string
	for name, was := range before {
		now, ok := after[name]
		switch {
		case !ok:
			found = append(found, fmt.Sprintf("node %s is gone", name))
		case was.ready && !now.ready:
			found = append(found, fmt.Sprintf("node %s was Ready before the run and is not now", name))
		case !was.cordoned && now.cordoned:
			found = append(found, fmt.Sprintf("node %s was left cordoned", name))
		case !was.tainted && now.tainted:
			found = append(found, fmt.Sprintf("node %s was left with an unreachable/not-ready taint", name))
		}
		if kindCluster != "" && was.ready {
			kindNodes = append(kindNodes, name)
		}
	}
	// Each node's container asked at once: a docker command each.
	slices.Sort(kindNodes)
	perNode := make([][]string, len(kindNodes))
	var wg sync.WaitGroup
	for i, name := range kindNodes {
		wg.Go(func() { perNode[i] = leftOnContainer(ctx, kindnode.Node{Cluster: kindCluster, Name: name}) })
	}
	wg.Wait()
	for _, lines := range perNode {
		found = append(found, lines...)
	}
	return found
}

// leftOnContainer is what a fault left on a kind node's container: the
// container stopped or paused, the kubelet stopped, the partition rules,
// a control-plane component stopped.
func leftOnContainer(ctx context.Context, n kindnode.Node) []string {
	if st, err := n.State(ctx); err != nil || st != "running" {
		return []string{fmt.Sprintf("node container %s is %q", n.Name, st)}
	}
	var found []string
	if !n.KubeletActive(ctx) {
		found = append(found, fmt.Sprintf("kubelet of node %s is stopped", n.Name))
	}
	if n.PartitionActive(ctx) {
		found = append(found, fmt.Sprintf("node %s still has kubeproof's partition rules", n.Name))
	}
	for _, c := range n.StoppedComponents(ctx) {
		found = append(found, fmt.Sprintf("%s of node %s is stopped (its static pod manifest is in %s)", c, n.Name, kindnode.StoppedDir))
	}
	return found
}
