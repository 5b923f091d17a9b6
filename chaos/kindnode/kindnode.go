// Package kindnode injects faults into kind nodes from the outside, through
// Docker: stop and start a node container, pause and unpause it, stop the
// kubelet inside it, and partition it from the other nodes.
package kindnode

import (
	"context"
	"fmt"
	"os/exec"
	"strings"

	"github.com/kubeproof/kubeproof/chaos"
)

// Node is a kind node container of a cluster.
type Node struct {
	Cluster, Name string
}

// check refuses a container that is not a node of the named kind cluster:
// kubeproof never touches what it was not told to target.
func (n Node) check(ctx context.Context) error {
	out, err := docker(ctx, "inspect", "--format", `{{ index .Config.Labels "io.x-k8s.kind.cluster" }}`, n.Name)
	if err != nil {
		return fmt.Errorf("node %s: %w", n.Name, err)
	}
	if strings.TrimSpace(out) != n.Cluster {
		return fmt.Errorf("container %s is not a node of kind cluster %q", n.Name, n.Cluster)
	}
	return nil
}

// State is the container's state: running, paused, exited...
func (n Node) State(ctx context.Context) (string, error) {
	out, err := docker(ctx, "inspect", "--format", "{{.State.Status}}", n.Name)
	return strings.TrimSpace(out), err
}

func docker(ctx context.Context, args ...string) (string, error) {
	return dockerStdin(ctx, "", args...)
}

// dockerStdin runs docker with stdin as its input.
func dockerStdin(ctx context.Context, stdin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// Stop powers a node off abruptly and starts it again on revert.
type Stop struct{ Node }

func (s Stop) Describe() string {
	return fmt.Sprintf("stop node container %s of kind cluster %s at once (docker stop -t 0: like a power loss); revert: docker start", s.Name, s.Cluster)
}

func (s Stop) Inject(ctx context.Context) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if st, err := s.State(ctx); err == nil && st == "exited" {
		return nil
	}
	_, err := docker(ctx, "stop", "-t", "0", s.Name)
	return err
}

func (s Stop) Revert(ctx context.Context) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	switch st, _ := s.State(ctx); st {
	case "running":
		return nil
	case "paused":
		_, err := docker(ctx, "unpause", s.Name)
		return err
	}
	_, err := docker(ctx, "start", s.Name)
	return err
}

func (s Stop) Spec() chaos.Spec {
	return chaos.Spec{Kind: chaos.NodeStop, Node: s.Name}
}

// Pause freezes every process of a node (cgroup freezer): the node neither
// answers nor dies, as a hung machine does.
type Pause struct{ Node }

func (p Pause) Describe() string {
	return fmt.Sprintf("freeze node container %s of kind cluster %s (docker pause); revert: docker unpause", p.Name, p.Cluster)
}

func (p Pause) Inject(ctx context.Context) error {
	if err := p.check(ctx); err != nil {
		return err
	}
	if st, err := p.State(ctx); err == nil && st == "paused" {
		return nil
	}
	_, err := docker(ctx, "pause", p.Name)
	return err
}

func (p Pause) Revert(ctx context.Context) error {
	if err := p.check(ctx); err != nil {
		return err
	}
	if st, _ := p.State(ctx); st != "paused" {
		return nil
	}
	_, err := docker(ctx, "unpause", p.Name)
	return err
}

func (p Pause) Spec() chaos.Spec {
	return chaos.Spec{Kind: chaos.NodePause, Node: p.Name}
}

// KubeletStop stops the kubelet service inside a node; its pods keep
// running, but the node stops reporting.
type KubeletStop struct{ Node }

func (k KubeletStop) Describe() string {
	return fmt.Sprintf("stop the kubelet in node %s of kind cluster %s (systemctl stop kubelet; pods keep running); revert: systemctl start kubelet", k.Name, k.Cluster)
}

func (k KubeletStop) Inject(ctx context.Context) error {
	if err := k.check(ctx); err != nil {
		return err
	}
	_, err := docker(ctx, "exec", k.Name, "systemctl", "stop", "kubelet")
	return err
}

func (k KubeletStop) Revert(ctx context.Context) error {
	if err := k.check(ctx); err != nil {
		return err
	}
	if st, _ := k.State(ctx); st != "running" {
		return fmt.Errorf("node %s is %s: start it first (kubeproof chaos revert handles a stopped node)", k.Name, st)
	}
	_, err := docker(ctx, "exec", k.Name, "systemctl", "start", "kubelet")
	return err
}

func (k KubeletStop) Spec() chaos.Spec {
	return chaos.Spec{Kind: chaos.KubeletStop, Node: k.Name}
}

// KubeletActive reports whether the node's kubelet service is active.
func (n Node) KubeletActive(ctx context.Context) bool {
	out, err := docker(ctx, "exec", n.Name, "systemctl", "is-active", "kubelet")
	return err == nil && strings.TrimSpace(out) == "active"
}
