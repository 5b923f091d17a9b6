package kindcluster

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/kind/pkg/cluster/constants"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
)

// Node is one node (container) of a kind cluster, for commands run on it.
type Node struct {
	node nodes.Node
	Name string
	// ControlPlane: the node runs the control plane.
	ControlPlane bool
}

// Nodes lists a kind cluster's nodes, control planes first, by name.
func Nodes(cluster string) ([]Node, error) {
	list, err := provider().ListNodes(cluster)
	if err != nil {
		return nil, fmt.Errorf("list the nodes of kind cluster %s: %w", cluster, err)
	}
	var out []Node
	for _, n := range list {
		role, err := n.Role()
		if err != nil {
			return nil, err
		}
		if role == constants.ExternalLoadBalancerNodeRoleValue {
			continue
		}
		out = append(out, Node{node: n, Name: n.String(), ControlPlane: role == constants.ControlPlaneNodeRoleValue})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ControlPlane != out[j].ControlPlane {
			return out[i].ControlPlane
		}
		return out[i].Name < out[j].Name
	})
	if len(out) == 0 {
		return nil, fmt.Errorf("kind cluster %s has no nodes", cluster)
	}
	return out, nil
}

// Run runs a command on the node and returns its combined output; an
// error carries the output's last lines.
func (n Node) Run(ctx context.Context, name string, args ...string) (string, error) {
	var out bytes.Buffer
	cmd := n.node.CommandContext(ctx, name, args...)
	cmd.SetStdout(&out)
	cmd.SetStderr(&out)
	if err := cmd.Run(); err != nil {
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) > 8 {
			lines = lines[len(lines)-8:]
		}
		return out.String(), fmt.Errorf("%s %s on %s: %w: %s", name, strings.Join(args, " "), n.Name, err, strings.Join(lines, " | "))
	}
	return out.String(), nil
}
