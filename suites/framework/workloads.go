package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeproof/kubeproof/fixtures"
	"github.com/kubeproof/kubeproof/fixtures/wire"
	"github.com/kubeproof/kubeproof/internal/kube"
)

// Server describes a workload server to start (see fixtures.ServerOptions);
// Image defaults to the run's workload image.
type Server = fixtures.ServerOptions

// StartServers creates the pods, registering their deletion, and waits
// until all are Ready. The pods are returned in the order given.
func (f *Framework) StartServers(ctx context.Context, servers ...Server) []*corev1.Pod {
	ginkgo.GinkgoHelper()
	for _, s := range servers {
		if s.Image == "" {
			s.Image = Context.WorkloadImage
		}
		Create(ctx, f, f.Pods(), fixtures.ServerPod(s))
	}
	out := make([]*corev1.Pod, len(servers))
	errs := make([]error, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = f.podReady(ctx, s.Name)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			Failf("%v", err)
		}
	}
	return out
}

// WaitPodReady waits until a pod of the spec is Ready and returns it,
// failing the spec with one line if it is not within PodStartTimeout.
func (f *Framework) WaitPodReady(ctx context.Context, name string) *corev1.Pod {
	ginkgo.GinkgoHelper()
	p, err := f.podReady(ctx, name)
	if err != nil {
		Failf("%v", err)
	}
	return p
}

// podReady is WaitPodReady returning its one-line failure as an error, so
// that pods started together can be waited for together.
func (f *Framework) podReady(ctx context.Context, name string) (*corev1.Pod, error) {
	var last *corev1.Pod
	var lastErr error
	if Poll(ctx, PodStartTimeout, 250*time.Millisecond, func(ctx context.Context) bool {
		p, err := f.Client.CoreV1().Pods(f.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			lastErr = err
			return false
		}
		last = p
		return kube.PodReady(p)
	}) {
		return last, nil
	}
	why := "not found"
	switch {
	case last != nil:
		why = PodState(last)
	case lastErr != nil:
		why = lastErr.Error()
	}
	return nil, fmt.Errorf("pod %s/%s: want Ready within %s%s, got %s", f.Namespace, name, PodStartTimeout, CutShort(ctx), oneLine(why))
}

// exec runs the workload binary in a pod and decodes its JSON answer.
func (f *Framework) exec(ctx context.Context, from *corev1.Pod, into any, args ...string) {
	ginkgo.GinkgoHelper()
	out, err := f.Client.Exec(ctx, from.Namespace, from.Name, "workload", append([]string{"/workload"}, args...)...)
	if err != nil {
		Failf("%v", err)
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), into); err != nil {
		Failf("workload %s in pod %s: output %q is not JSON: %v", strings.Join(args, " "), from.Name, out, err)
	}
}

// HTTPGet sends one request from a pod.
func (f *Framework) HTTPGet(ctx context.Context, from *corev1.Pod, url string, timeout time.Duration) wire.Result {
	ginkgo.GinkgoHelper()
	var r wire.Result
	f.exec(ctx, from, &r, "get", "--timeout", timeout.String(), url)
	return r
}

// UDP sends one datagram from a pod and waits for the echo.
func (f *Framework) UDP(ctx context.Context, from *corev1.Pod, addr, msg string, timeout time.Duration) wire.Result {
	ginkgo.GinkgoHelper()
	var r wire.Result
	f.exec(ctx, from, &r, "udp", "--timeout", timeout.String(), addr, msg)
	return r
}

// TCP sends a message over TCP from a pod and reads the echo.
func (f *Framework) TCP(ctx context.Context, from *corev1.Pod, addr, msg string, timeout time.Duration) wire.Result {
	ginkgo.GinkgoHelper()
	var r wire.Result
	f.exec(ctx, from, &r, "tcp", "--timeout", timeout.String(), addr, msg)
	return r
}

// Resolve looks a name up from a pod.
func (f *Framework) Resolve(ctx context.Context, from *corev1.Pod, name string) wire.Result {
	ginkgo.GinkgoHelper()
	var r wire.Result
	f.exec(ctx, from, &r, "resolve", "--timeout", "5s", name)
	return r
}

// SchedulableNodes lists the nodes ordinary pods may run on. A node meant
// to run pods (not cordoned, no NoSchedule or NoExecute taint but the
// ones the node lifecycle controller sets for a failing node) that is not
// Ready fails the spec, naming it: a check "on every node" never drops a
// dead node silently.
func (f *Framework) SchedulableNodes(ctx context.Context) []corev1.Node {
	ginkgo.GinkgoHelper()
	var out []corev1.Node
	var unusable []string
	var listErr error
	// A node that just turned Ready keeps its not-ready taint a moment:
	// give the control plane ProgramTimeout to settle before failing.
	if Poll(ctx, ProgramTimeout, time.Second, func(ctx context.Context) bool {
		out, unusable, listErr = f.usableNodes(ctx)
		return listErr == nil && len(unusable) == 0
	}) {
		return out
	}
	if listErr != nil {
		Failf("list nodes: %v%s", listErr, CutShort(ctx))
	}
	Failf("want every schedulable node Ready and untainted within %s to run this check on, got unusable: %s%s", ProgramTimeout, strings.Join(unusable, ", "), CutShort(ctx))
	return nil
}

// usableNodes sorts the nodes meant to run pods (not cordoned, no taint of
// their own) into the usable ones and, described, the others.
func (f *Framework) usableNodes(ctx context.Context) (usable []corev1.Node, unusable []string, err error) {
	list, err := f.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, err
	}
	for _, n := range list.Items {
		switch taint := conditionTaint(&n); {
		case n.Spec.Unschedulable || hasOwnNoScheduleTaint(&n):
		case !kube.NodeReady(&n):
			unusable = append(unusable, fmt.Sprintf("%s (%s)", n.Name, NodeReadiness(&n)))
		case taint != "":
			unusable = append(unusable, fmt.Sprintf("%s (tainted %s)", n.Name, taint))
		default:
			usable = append(usable, n)
		}
	}
	return usable, unusable, nil
}

// NodeReadiness says in a few words where a node's Ready condition stands:
// "Ready=Unknown NodeStatusUnknown: Kubelet stopped posting node status.".
func NodeReadiness(n *corev1.Node) string {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return oneLine(fmt.Sprintf("Ready=%s %s: %s", c.Status, c.Reason, c.Message))
		}
	}
	return "no Ready condition"
}

// RequireNodes skips the spec, saying why, when fewer than n nodes can run pods.
func (f *Framework) RequireNodes(ctx context.Context, n int) []corev1.Node {
	ginkgo.GinkgoHelper()
	nodes := f.SchedulableNodes(ctx)
	if len(nodes) < n {
		ginkgo.Skip(fmt.Sprintf("needs %d schedulable nodes, the cluster has %d", n, len(nodes)))
	}
	return nodes
}

// conditionTaint names a NoSchedule or NoExecute taint the control plane
// set for the node's condition (not-ready, unreachable, pressure), "" if none.
func conditionTaint(n *corev1.Node) string {
	for _, t := range n.Spec.Taints {
		if (t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute) && strings.HasPrefix(t.Key, "node.kubernetes.io/") {
			return t.Key + ":" + string(t.Effect)
		}
	}
	return ""
}

// hasOwnNoScheduleTaint: a taint that keeps ordinary pods off the node by
// someone's choice (a control plane, a dedicated node), not one of the
// node.kubernetes.io/ taints the control plane sets when a node fails.
func hasOwnNoScheduleTaint(n *corev1.Node) bool {
	for _, t := range n.Spec.Taints {
		if (t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute) && !strings.HasPrefix(t.Key, "node.kubernetes.io/") {
			return true
		}
	}
	return false
}

// InternalIP returns a node's InternalIP address.
func InternalIP(n *corev1.Node) string {
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			return a.Address
		}
	}
	return ""
}
