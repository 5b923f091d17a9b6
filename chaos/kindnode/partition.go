package kindnode

import (
	"context"
	"fmt"
	"strings"

	"github.com/kubeproof/kubeproof/chaos"
)

// partitionChain holds the partition's rules in the node's own network
// namespace, so that revert removes exactly them.
const partitionChain = "KUBEPROOF-PARTITION"

// Partition cuts a node off from the other nodes of its cluster: traffic
// to and from their addresses and pod ranges is dropped inside the node.
type Partition struct {
	Node
	// Peers are the addresses and CIDRs to cut off (other nodes' IPs and
	// PodCIDRs), fixed when the fault is planned.
	Peers []string
}

func (p Partition) Describe() string {
	return fmt.Sprintf("partition node %s of kind cluster %s from %s (iptables DROP in chain %s of the node); revert: remove the chain", p.Name, p.Cluster, strings.Join(p.Peers, ", "), partitionChain)
}

func (p Partition) Inject(ctx context.Context) error {
	if err := p.check(ctx); err != nil {
		return err
	}
	var script strings.Builder
	fmt.Fprintf(&script, "set -e\niptables -N %[1]s 2>/dev/null || true\niptables -F %[1]s\n", partitionChain)
	for _, peer := range p.Peers {
		fmt.Fprintf(&script, "iptables -A %[1]s -s %[2]s -j DROP\niptables -A %[1]s -d %[2]s -j DROP\n", partitionChain, peer)
	}
	for _, chain := range []string{"INPUT", "OUTPUT", "FORWARD"} {
		fmt.Fprintf(&script, "iptables -C %[1]s -j %[2]s 2>/dev/null || iptables -I %[1]s 1 -j %[2]s\n", chain, partitionChain)
	}
	_, err := docker(ctx, "exec", p.Name, "sh", "-c", script.String())
	return err
}

func (p Partition) Revert(ctx context.Context) error {
	if err := p.check(ctx); err != nil {
		return err
	}
	if st, _ := p.State(ctx); st != "running" {
		// A stopped node loses its rules with its network namespace.
		return nil
	}
	script := fmt.Sprintf("for c in INPUT OUTPUT FORWARD; do while iptables -D $c -j %[1]s 2>/dev/null; do :; done; done\niptables -F %[1]s 2>/dev/null || true\niptables -X %[1]s 2>/dev/null || true\n", partitionChain)
	_, err := docker(ctx, "exec", p.Name, "sh", "-c", script)
	return err
}

func (p Partition) Spec() chaos.Spec {
	return chaos.Spec{Kind: chaos.NetworkPartition, Node: p.Name, Params: map[string]string{"peers": strings.Join(p.Peers, ",")}}
}

// PartitionActive reports whether the partition chain is hooked in.
func (n Node) PartitionActive(ctx context.Context) bool {
	_, err := docker(ctx, "exec", n.Name, "iptables", "-C", "INPUT", "-j", partitionChain)
	return err == nil
}
