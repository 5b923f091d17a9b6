package kindnode

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kubeproof/kubeproof/chaos"
)

// Components are the control-plane components ComponentStop can stop:
// kubeadm runs each as a static pod of the control-plane node.
var Components = []string{"kube-scheduler", "kube-controller-manager", "kube-apiserver"}

const (
	// manifests is where the kubelet of a kubeadm node reads static pods.
	manifests = "/etc/kubernetes/manifests"
	// StoppedDir holds the manifests kubeproof took away, on the node
	// itself: revert finds them there whichever process reverts.
	StoppedDir = "/etc/kubernetes/kubeproof-stopped"
	// componentBound bounds the kubelet's stop and start of a static pod:
	// it sees the file at once (inotify) or within its 20s file check;
	// the component has its grace period (30s) to exit; and a pod put
	// back is the same pod to the kubelet (its UID hashes the file), whose
	// container that ran before waits out the crash-loop back-off, up to
	// 5m, before it starts again.
	componentBound = 6 * time.Minute
)

// ComponentStop stops one control-plane component of a kind node: its
// static pod manifest moves out of the kubelet's manifest folder, and the
// kubelet stops the pod; revert moves it back, and the kubelet starts the
// component again, as a new process.
type ComponentStop struct {
	Node
	Component string
}

// ValidComponent refuses a component ComponentStop cannot stop.
func ValidComponent(c string) error {
	if !slices.Contains(Components, c) {
		return fmt.Errorf("component %q: want one of %s", c, strings.Join(Components, ", "))
	}
	return nil
}

func (s ComponentStop) Describe() string {
	return fmt.Sprintf("stop %s on node %s of kind cluster %s (move its static pod manifest %s/%s.yaml to %s; the kubelet stops the pod); revert: move it back, the kubelet starts it again",
		s.Component, s.Name, s.Cluster, manifests, s.Component, StoppedDir)
}

// Inject returns once the component's container no longer runs.
func (s ComponentStop) Inject(ctx context.Context) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if err := ValidComponent(s.Component); err != nil {
		return err
	}
	script := fmt.Sprintf(`set -e
if [ -f %[1]s/%[3]s.yaml ]; then mkdir -p %[2]s; mv %[1]s/%[3]s.yaml %[2]s/%[3]s.yaml; exit 0; fi
if [ -f %[2]s/%[3]s.yaml ]; then exit 0; fi
echo "no static pod manifest %[1]s/%[3]s.yaml: not a kubeadm control-plane node"; exit 1`, manifests, StoppedDir, s.Component)
	if _, err := docker(ctx, "exec", s.Name, "sh", "-c", script); err != nil {
		return err
	}
	return s.waitRunning(ctx, false)
}

// Revert moves the manifest back and returns once the component's
// container runs again: until then the journal entry stays.
func (s ComponentStop) Revert(ctx context.Context) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if st, _ := s.State(ctx); st != "running" {
		return fmt.Errorf("node %s is %s: start it first (kubeproof chaos revert handles a stopped node)", s.Name, st)
	}
	script := fmt.Sprintf(`set -e
if [ -f %[2]s/%[3]s.yaml ]; then mv %[2]s/%[3]s.yaml %[1]s/%[3]s.yaml; rmdir %[2]s 2>/dev/null || true; exit 0; fi
if [ -f %[1]s/%[3]s.yaml ]; then exit 0; fi
echo "neither %[1]s/%[3]s.yaml nor %[2]s/%[3]s.yaml exists: restore the manifest by hand (kubeadm init phase control-plane)"; exit 1`, manifests, StoppedDir, s.Component)
	if _, err := docker(ctx, "exec", s.Name, "sh", "-c", script); err != nil {
		return err
	}
	return s.waitRunning(ctx, true)
}

// Running says whether the component's container runs on the node: a
// running containerd task of the container the kubelet labels with the
// static pod's name, <component>-<node>, and the component's container
// name (another pod may name its container alike).
func (s ComponentStop) Running(ctx context.Context) (bool, error) {
	script := fmt.Sprintf(`set -e
ids=$(ctr -n k8s.io containers ls -q 'labels."io.kubernetes.pod.name"==%[1]s-%[2]s,labels."io.kubernetes.container.name"==%[1]s')
ctr -n k8s.io tasks ls | while read -r id pid status; do
  for i in $ids; do if [ "$id" = "$i" ] && [ "$status" = RUNNING ]; then echo "$id"; fi; done
done`, s.Component, s.Name)
	out, err := docker(ctx, "exec", s.Name, "sh", "-c", script)
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(out) != "", nil
}

func (s ComponentStop) waitRunning(ctx context.Context, want bool) error {
	state := map[bool]string{true: "running", false: "stopped"}
	deadline := time.Now().Add(componentBound)
	for {
		running, err := s.Running(ctx)
		switch {
		case err != nil:
			// The node answers for its containers or the fault is not
			// known to be in effect: no waiting on an error.
			return fmt.Errorf("%s on node %s: cannot tell whether it runs: %w", s.Component, s.Name, err)
		case running == want:
			return nil
		case time.Now().After(deadline):
			return fmt.Errorf("%s on node %s: want it %s within %s of its manifest's move, got it still %s", s.Component, s.Name, state[want], componentBound, state[running])
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (s ComponentStop) Spec() chaos.Spec {
	return chaos.Spec{Kind: chaos.ComponentStop, Node: s.Name, Params: map[string]string{"component": s.Component}}
}

// StoppedComponents lists the components whose manifest a component-stop
// left out of the kubelet's folder on the node, for the leftover check.
func (n Node) StoppedComponents(ctx context.Context) []string {
	out, err := docker(ctx, "exec", n.Name, "sh", "-c", "ls "+StoppedDir+" 2>/dev/null || true")
	if err != nil {
		return nil
	}
	var names []string
	for _, f := range strings.Fields(out) {
		names = append(names, strings.TrimSuffix(f, ".yaml"))
	}
	return names
}
