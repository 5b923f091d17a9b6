package rehearsal

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/apimachinery/pkg/util/wait"
	kubectldrain "k8s.io/kubectl/pkg/drain"

	"github.com/kubeproof/kubeproof/cluster/kindcluster"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/reporters/upgrade"
)

// upgrader upgrades a kind cluster the way kubeadm documents it, one
// timed step at a time, checking the version skew after each.
type upgrader struct {
	// cluster is the kind cluster's name, the prefix of its nodes' names,
	// left out where they are printed.
	cluster string
	c       *kube.Client
	nodes   []kindcluster.Node
	to      string
	// logs receives each step's output, one file per step.
	logs  string
	out   io.Writer
	steps []upgrade.Step
	// skew are the version skew violations seen after a step.
	skew []string

	mu        sync.Mutex
	evictions map[string]int // namespace/owner -> pods evicted
}

// kubeadmTimeout bounds one kubeadm command: its own wait for a control
// plane component is 4 minutes (timeouts.controlPlaneComponentHealthCheck),
// and apply restarts three of them, etcd too.
const kubeadmTimeout = 15 * time.Minute

// drainTimeout bounds a drain: evictions a PodDisruptionBudget refuses
// are retried until the replacements are Ready.
const drainTimeout = 5 * time.Minute

func (u *upgrader) bin(name string) string { return "/kubeproof/upgrade/" + u.to + "/" + name }

// run does the whole upgrade: control plane first, then each worker.
func (u *upgrader) run(ctx context.Context) error {
	cp := u.nodes[0]
	if err := u.step(ctx, "check the upgrade's images on every node", "", u.checkImages); err != nil {
		return err
	}
	if err := u.step(ctx, "kubeadm upgrade plan", cp.Name, func(ctx context.Context) (string, error) {
		return cp.Run(ctx, u.bin("kubeadm"), "upgrade", "plan", u.to, "--ignore-preflight-errors=SystemVerification")
	}); err != nil {
		return err
	}
	if err := u.step(ctx, "kubeadm upgrade apply", cp.Name, func(ctx context.Context) (string, error) {
		out, err := cp.Run(ctx, u.bin("kubeadm"), "upgrade", "apply", u.to, "--yes", "--ignore-preflight-errors=SystemVerification")
		if err != nil {
			return out, err
		}
		return out, u.apiSettled(ctx)
	}); err != nil {
		return err
	}
	for _, n := range u.nodes {
		if err := u.node(ctx, n, !n.ControlPlane || n.Name != cp.Name); err != nil {
			return err
		}
	}
	return nil
}

// node cordons and drains a node, runs `kubeadm upgrade node` on it (not
// on the control plane `upgrade apply` ran on), swaps its kubelet and
// kubectl, waits until it is Ready at the new version, and uncordons it.
func (u *upgrader) node(ctx context.Context, n kindcluster.Node, kubeadmNode bool) error {
	if err := u.step(ctx, "cordon and drain", n.Name, func(ctx context.Context) (string, error) { return "", u.drain(ctx, n.Name) }); err != nil {
		return err
	}
	if kubeadmNode {
		if err := u.step(ctx, "kubeadm upgrade node", n.Name, func(ctx context.Context) (string, error) {
			return n.Run(ctx, u.bin("kubeadm"), "upgrade", "node", "--ignore-preflight-errors=SystemVerification")
		}); err != nil {
			return err
		}
	}
	if err := u.step(ctx, "kubelet and kubectl to "+u.to, n.Name, func(ctx context.Context) (string, error) {
		// A running binary cannot be overwritten (text file busy): stop first.
		out, err := n.Run(ctx, "sh", "-c", fmt.Sprintf("systemctl stop kubelet && cp %s /usr/bin/kubelet && cp %s /usr/bin/kubectl && printf %s > /kind/version && systemctl start kubelet",
			u.bin("kubelet"), u.bin("kubectl"), u.to))
		if err != nil {
			return out, err
		}
		if err := u.waitKubelet(ctx, n.Name); err != nil || !n.ControlPlane {
			return out, err
		}
		// The new kubelet may restart the control plane's static pods.
		return out, u.apiSettled(ctx)
	}); err != nil {
		return err
	}
	return u.step(ctx, "uncordon", n.Name, func(ctx context.Context) (string, error) {
		return "", kubectldrain.RunCordonOrUncordon(u.helper(ctx, io.Discard), u.nodeObject(ctx, n.Name), false)
	})
}

func (u *upgrader) nodeObject(ctx context.Context, name string) *corev1.Node {
	n, err := u.c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	}
	return n
}

// helper is kubectl drain as `kubectl drain --ignore-daemonsets
// --delete-emptydir-data` runs it: evictions, so PodDisruptionBudgets hold.
func (u *upgrader) helper(ctx context.Context, log io.Writer) *kubectldrain.Helper {
	return &kubectldrain.Helper{
		Ctx: ctx, Client: u.c, GracePeriodSeconds: -1, IgnoreAllDaemonSets: true, DeleteEmptyDirData: true,
		Timeout: drainTimeout, Out: log, ErrOut: log,
		OnPodDeletionOrEvictionFinished: func(p *corev1.Pod, _ bool, err error) {
			if err == nil {
				u.mu.Lock()
				u.evictions[p.Namespace+"/"+owner(p)]++
				u.mu.Unlock()
			}
		},
	}
}

func (u *upgrader) drain(ctx context.Context, node string) error {
	var log strings.Builder
	h := u.helper(ctx, &log)
	if err := kubectldrain.RunCordonOrUncordon(h, u.nodeObject(ctx, node), true); err != nil {
		return err
	}
	if err := kubectldrain.RunNodeDrain(h, node); err != nil {
		return fmt.Errorf("drain %s: %w", node, err)
	}
	return nil
}

// owner names the workload a pod belongs to: its Deployment, StatefulSet,
// DaemonSet or Job (a ReplicaSet stands for its Deployment).
func owner(p *corev1.Pod) string {
	for _, ref := range p.OwnerReferences {
		if ref.Controller == nil || !*ref.Controller {
			continue
		}
		if ref.Kind == "Node" {
			return "static pods/" + ref.Name // mirror pods: the kubelet runs them from files
		}
		if ref.Kind == "ReplicaSet" {
			if i := strings.LastIndex(ref.Name, "-"); i > 0 {
				return "Deployment/" + ref.Name[:i]
			}
		}
		return ref.Kind + "/" + ref.Name
	}
	return "Pod/" + p.Name
}

// waitKubelet waits until the node reports the new kubelet and is Ready:
// the kubelet posts its status within its 10 s node status update period.
func (u *upgrader) waitKubelet(ctx context.Context, name string) error {
	var seen string
	err := wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		n, err := u.c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			seen = err.Error()
			return false, nil
		}
		seen = fmt.Sprintf("kubelet %s, Ready %v", n.Status.NodeInfo.KubeletVersion, kube.NodeReady(n))
		return n.Status.NodeInfo.KubeletVersion == u.to && kube.NodeReady(n), nil
	})
	if err != nil {
		return fmt.Errorf("node %s: want kubelet %s and Ready within 2m0s, got %s", name, u.to, seen)
	}
	return nil
}

// checkImages compares the images the new kubeadm will run with what every
// node's containerd holds, so that a missing one is named now, not after
// kubeadm's pull retries.
func (u *upgrader) checkImages(ctx context.Context) (string, error) {
	list, err := u.nodes[0].Run(ctx, u.bin("kubeadm"), "config", "images", "list", "--kubernetes-version", u.to)
	if err != nil {
		return list, fmt.Errorf("the node image carries no kubeadm %s (build it with `kubeproof image build-node --upgrade-version %s`): %w", u.to, u.to, err)
	}
	want := strings.Fields(list)
	var missing []string
	for _, n := range u.nodes {
		have, err := n.Run(ctx, "ctr", "-n", "k8s.io", "images", "ls", "-q")
		if err != nil {
			return have, err
		}
		got := map[string]bool{}
		for _, ref := range strings.Fields(have) {
			got[ref] = true
		}
		for _, ref := range want {
			if !got[ref] {
				missing = append(missing, n.Name+": "+ref)
			}
		}
	}
	if len(missing) > 0 {
		return list, fmt.Errorf("images kubeadm %s needs are not on the nodes (no registry to pull them from): %s", u.to, strings.Join(missing, ", "))
	}
	return list, nil
}

var unsafeInName = regexp.MustCompile(`[^A-Za-z0-9.]+`)

// step runs one step, writes its output to a log file, times it, and
// checks the skew policy after it.
func (u *upgrader) step(ctx context.Context, name, node string, f func(context.Context) (string, error)) error {
	start := time.Now()
	where := ""
	if node != "" {
		where = " on " + u.short(node)
	}
	fmt.Fprintf(u.out, "• %s%s ...\n", name, where)
	sctx, cancel := context.WithTimeout(ctx, kubeadmTimeout)
	out, err := f(sctx)
	cancel()
	s := upgrade.Step{Name: name, Node: node, Start: start.UTC(), Seconds: time.Since(start).Seconds()}
	if err != nil {
		s.Error = err.Error()
	}
	file := filepath.Join(u.logs, fmt.Sprintf("%02d-%s.log", len(u.steps)+1, strings.Trim(unsafeInName.ReplaceAllString(name+where, "-"), "-")))
	_ = os.WriteFile(file, []byte(out), 0o644)
	skew, violation := u.checkSkew(ctx)
	s.Skew = skew
	if violation != "" {
		u.skew = append(u.skew, fmt.Sprintf("after %q%s: %s", name, where, violation))
	}
	u.steps = append(u.steps, s)
	if err != nil {
		fmt.Fprintf(u.out, "  failed after %.1fs: %v\n", s.Seconds, err)
		return fmt.Errorf("%s%s: %w", name, where, err)
	}
	fmt.Fprintf(u.out, "  done in %.1fs (%s)\n", s.Seconds, skew)
	return nil
}

// checkSkew reads the API server's and every kubelet's version: no kubelet
// may be newer than the API server, nor more than three minors older
// (https://kubernetes.io/releases/version-skew-policy/#kubelet).
func (u *upgrader) checkSkew(ctx context.Context) (seen, violation string) {
	var server *version.Version
	err := wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(context.Context) (bool, error) {
		info, err := u.c.Discovery().ServerVersion()
		if err != nil {
			return false, nil
		}
		server, err = version.ParseGeneric(info.GitVersion)
		return err == nil, nil
	})
	if err != nil {
		return "API server unreachable", ""
	}
	nodes, err := u.c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return "nodes unreadable: " + err.Error(), ""
	}
	parts := []string{"API server v" + server.String()}
	var bad []string
	sort.Slice(nodes.Items, func(i, j int) bool { return nodes.Items[i].Name < nodes.Items[j].Name })
	for _, n := range nodes.Items {
		kv := n.Status.NodeInfo.KubeletVersion
		parts = append(parts, u.short(n.Name)+" "+kv)
		v, err := version.ParseGeneric(kv)
		switch {
		case err != nil:
			bad = append(bad, fmt.Sprintf("kubelet on %s reports %q", n.Name, kv))
		case v.GreaterThan(server):
			bad = append(bad, fmt.Sprintf("kubelet %s on %s is newer than the API server v%s", kv, n.Name, server))
		case server.Minor()-v.Minor() > 3:
			bad = append(bad, fmt.Sprintf("kubelet %s on %s is more than 3 minors older than the API server v%s", kv, n.Name, server))
		}
	}
	return strings.Join(parts, ", "), strings.Join(bad, "; ")
}

// settledFor is how long the API server must answer /readyz without a
// break before a step that restarted it is over: a new kubelet restarts
// the static pods within seconds of starting, and a restarted API server
// refuses requests (403) until its caches have synced, which /readyz
// covers.
const settledFor = 10 * time.Second

// apiSettled waits until /readyz has answered ok for settledFor in a row,
// within kubeadm's own wait for a control-plane component (4 minutes).
func (u *upgrader) apiSettled(ctx context.Context) error {
	var since time.Time
	var last string
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 4*time.Minute, true, func(ctx context.Context) (bool, error) {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		body, err := u.c.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(rctx)
		if err != nil {
			since, last = time.Time{}, strings.TrimSpace(string(body)+" "+err.Error())
			return false, nil
		}
		if since.IsZero() {
			since = time.Now()
		}
		return time.Since(since) >= settledFor, nil
	})
	if err != nil {
		return fmt.Errorf("want the API server's /readyz ok for %s in a row within 4m0s, got %s", settledFor, last)
	}
	return nil
}

func (u *upgrader) short(node string) string { return strings.TrimPrefix(node, u.cluster+"-") }
