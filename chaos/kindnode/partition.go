package kindnode

import (
	"context"
	"fmt"
	"net/netip"
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
	rules, err := partitionRules(p.Peers)
	if err != nil {
		return fmt.Errorf("partition %s: %w", p.Name, err)
	}
	if p.PartitionActive(ctx) {
		return nil // already injected
	}
	// One iptables-restore, fed rules built from parsed addresses: no
	// shell ever sees a peer.
	_, err = dockerStdin(ctx, rules, "exec", "-i", p.Name, "iptables-restore", "--noflush")
	return err
}

// Validate checks, before anything is done, that every peer can be cut
// off (IPv4 addresses and CIDRs only).
func (p Partition) Validate() error {
	_, err := partitionRules(p.Peers)
	return err
}

// partitionRules renders the partition for iptables-restore: the chain
// (created, or flushed if present), a DROP each way per peer, and the
// chain hooked first into INPUT, OUTPUT and FORWARD. Peers must be IPv4
// addresses or CIDRs: the rules are iptables (IPv4) only.
func partitionRules(peers []string) (string, error) {
	if len(peers) == 0 {
		return "", fmt.Errorf("no peers to cut the node off from")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*filter\n:%s - [0:0]\n", partitionChain)
	for _, peer := range peers {
		prefix, err := parsePeer(peer)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "-A %[1]s -s %[2]s -j DROP\n-A %[1]s -d %[2]s -j DROP\n", partitionChain, prefix)
	}
	for _, chain := range []string{"INPUT", "OUTPUT", "FORWARD"} {
		fmt.Fprintf(&b, "-I %s 1 -j %s\n", chain, partitionChain)
	}
	b.WriteString("COMMIT\n")
	return b.String(), nil
}

// parsePeer reads an IPv4 address or CIDR and returns it in canonical form.
func parsePeer(peer string) (netip.Prefix, error) {
	prefix, err := netip.ParsePrefix(peer)
	if err != nil {
		addr, aerr := netip.ParseAddr(peer)
		if aerr != nil {
			return netip.Prefix{}, fmt.Errorf("peer %q is neither an IP address nor a CIDR", peer)
		}
		prefix = netip.PrefixFrom(addr, addr.BitLen())
	}
	if !prefix.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("peer %s is IPv6: network-partition cuts IPv4 only (iptables), so it would leave this node reachable; refusing", peer)
	}
	return prefix.Masked(), nil
}

func (p Partition) Revert(ctx context.Context) error {
	if err := p.check(ctx); err != nil {
		return err
	}
	if st, _ := p.State(ctx); st != "running" {
		// A stopped node loses its rules with its network namespace.
		return nil
	}
	for _, chain := range []string{"INPUT", "OUTPUT", "FORWARD"} {
		// Every jump to the chain, however many a crashed inject left.
		for {
			if _, err := docker(ctx, "exec", p.Name, "iptables", "-D", chain, "-j", partitionChain); err != nil {
				break
			}
		}
	}
	if !p.chainExists(ctx) {
		return nil
	}
	if _, err := docker(ctx, "exec", p.Name, "iptables", "-F", partitionChain); err != nil {
		return err
	}
	_, err := docker(ctx, "exec", p.Name, "iptables", "-X", partitionChain)
	return err
}

func (n Node) chainExists(ctx context.Context) bool {
	_, err := docker(ctx, "exec", n.Name, "iptables", "-n", "-L", partitionChain)
	return err == nil
}

func (p Partition) Spec() chaos.Spec {
	return chaos.Spec{Kind: chaos.NetworkPartition, Node: p.Name, Params: map[string]string{"peers": strings.Join(p.Peers, ",")}}
}

// PartitionActive reports whether the partition chain is hooked in.
func (n Node) PartitionActive(ctx context.Context) bool {
	_, err := docker(ctx, "exec", n.Name, "iptables", "-C", "INPUT", "-j", partitionChain)
	return err == nil
}
