package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeproof/kubeproof/fixtures"
	"github.com/kubeproof/kubeproof/fixtures/wire"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/suites/contract"
)

// Server describes a workload server to start (see fixtures.ServerOptions);
// Image defaults to the run's workload image.
type Server = fixtures.ServerOptions

// StartServers creates the pods, registering their deletion, and waits
// until all are Ready, following them with a watch (readiness is seen when
// it happens). The pods are returned in the order given.
func (f *Framework) StartServers(ctx context.Context, servers ...Server) []*corev1.Pod {
	ginkgo.GinkgoHelper()
	pods := WatchPods(ctx, f, "")
	names := make([]string, len(servers))
	for i, s := range servers {
		names[i] = Create(ctx, f, f.Pods(), ServerPod(s)).Name
	}
	return waitReady(ctx, pods, names)
}

// waitReady follows pods until the named ones are all Ready and returns
// them in that order, failing the spec with one line naming those that
// are not within PodStartTimeout.
func waitReady(ctx context.Context, pods *Tracker[*corev1.Pod], names []string) []*corev1.Pod {
	ginkgo.GinkgoHelper()
	out, err := podsReady(ctx, pods, names)
	if err != nil {
		Failf("%v", err)
	}
	return out
}

// podsReady is waitReady returning its one-line failure.
func podsReady(ctx context.Context, pods *Tracker[*corev1.Pod], names []string) ([]*corev1.Pod, error) {
	out := make([]*corev1.Pod, len(names))
	var missing []string
	_, err := pods.Until(ctx, PodStartTimeout, func(time.Time) bool {
		missing = missing[:0]
		for i, name := range names {
			out[i] = pods.Get(name)
			switch {
			case out[i] == nil:
				missing = append(missing, fmt.Sprintf("pod %s not found", name))
			case !kube.PodReady(out[i]):
				missing = append(missing, fmt.Sprintf("%s %s", DescribePod(out[i]), PodState(out[i])))
			}
		}
		return len(missing) == 0
	})
	if err != nil {
		return nil, fmt.Errorf("%d of %d pods: want Ready within %s%s, got %s (%v)", len(missing), len(names), PodStartTimeout, CutShort(ctx), oneLine(strings.Join(missing, "; ")), err)
	}
	return out, nil
}

// FromEach runs probe from every pod at once and returns, in the pods'
// order, one line per pod where it did not hold: "node kp-worker2 (pod
// ns/client-1): <what probe saw>". A Fail inside probe (an exec that could
// not run) is raised again here, in the spec's goroutine.
func FromEach(ctx context.Context, pods []*corev1.Pod, probe func(ctx context.Context, from *corev1.Pod) (ok bool, seen string)) []string {
	ok := make([]bool, len(pods))
	seen := make([]string, len(pods))
	panics := make([]any, len(pods))
	var wg sync.WaitGroup
	for i, p := range pods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { panics[i] = recover() }()
			ok[i], seen[i] = probe(ctx, p)
		}()
	}
	wg.Wait()
	for _, p := range panics {
		if p != nil {
			panic(p)
		}
	}
	var failed []string
	for i, p := range pods {
		if !ok[i] {
			failed = append(failed, fmt.Sprintf("node %s (pod %s/%s): %s", nodeOf(p), p.Namespace, p.Name, oneLine(seen[i])))
		}
	}
	return failed
}

// WaitPodReady waits until a pod of the spec is Ready and returns it,
// failing the spec with one line if it is not within PodStartTimeout.
func (f *Framework) WaitPodReady(ctx context.Context, name string) *corev1.Pod {
	ginkgo.GinkgoHelper()
	return waitReady(ctx, WatchPods(ctx, f, ""), []string{name})[0]
}

// exec runs the workload binary in a pod (see workload) and decodes its
// JSON answer.
func (f *Framework) exec(ctx context.Context, from *corev1.Pod, into any, args ...string) {
	ginkgo.GinkgoHelper()
	out, err := f.workload(ctx, from, args...)
	if err != nil {
		// The error carries the command's stderr, lines and all.
		Failf("%s (node %s)", oneLine(err.Error()), nodeOf(from))
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), into); err != nil {
		Failf("workload %s in %s: output %q is not JSON: %v", strings.Join(args, " "), DescribePod(from), out, err)
	}
}

// HTTPGet sends one request from a pod.
func (f *Framework) HTTPGet(ctx context.Context, from *corev1.Pod, url string, timeout time.Duration) wire.Result {
	ginkgo.GinkgoHelper()
	var r wire.Result
	f.exec(ctx, from, &r, "get", "--timeout", timeout.String(), url)
	return r
}

// BatchRate is the rate, in requests per second, of HTTPBatch: 20
// requests take a fifth of a second, where one exec per request took
// several seconds, and each is still its own connection.
const BatchRate = 100

// HTTPBatch sends n GETs from a pod at BatchRate in one run of `workload
// load` and returns the totals: Backends counts the answers' bodies,
// Errors the failed requests' classes.
func (f *Framework) HTTPBatch(ctx context.Context, from *corev1.Pod, url string, n int) (wire.Interval, error) {
	return f.HTTPBatchWithin(ctx, from, url, n, RequestTimeout)
}

// HTTPBatchWithin is HTTPBatch with each request bounded by timeout (see
// ProbeTimeouts).
func (f *Framework) HTTPBatchWithin(ctx context.Context, from *corev1.Pod, url string, n int, timeout time.Duration) (wire.Interval, error) {
	// The duration is a ceiling: the load ends after its n-th request.
	d := time.Duration(n)*time.Second/BatchRate + time.Second
	out, err := f.workload(ctx, from, "load",
		"--url", url, "--rate", strconv.Itoa(BatchRate), "--count", strconv.Itoa(n),
		"--duration", d.String(), "--interval", d.String(), "--timeout", timeout.String())
	if err != nil {
		return wire.Interval{}, fmt.Errorf("%d requests to %s from %s (node %s): %s", n, url, DescribePod(from), nodeOf(from), oneLine(err.Error()))
	}
	_, total, ended := wire.ParseIntervals(out)
	if !ended {
		return wire.Interval{}, fmt.Errorf("%d requests to %s from %s: the output of workload load has no final line (the totals): %q", n, url, DescribePod(from), oneLine(out))
	}
	return total, nil
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

// ExpectResolves waits until name resolves to exactly want (what want
// is, in a few words, in about) from every client at once: the route to
// the cluster DNS is programmed per node. It fails with one line naming
// each client and node that did not see it, and the cluster DNS pods.
func (f *Framework) ExpectResolves(ctx context.Context, clients []*corev1.Pod, name string, want []string, about string, timeout time.Duration) {
	ginkgo.GinkgoHelper()
	want = slices.Sorted(slices.Values(want))
	failed := FromEach(ctx, clients, func(ctx context.Context, from *corev1.Pod) (bool, string) {
		seen := "nothing (not tried)"
		ok := Poll(ctx, timeout, 500*time.Millisecond, func(ctx context.Context) bool {
			r := f.Resolve(ctx, from, name)
			seen = r.String()
			return r.OK && slices.Equal(slices.Sorted(slices.Values(r.Addresses)), want)
		})
		return ok, seen
	})
	if len(failed) > 0 {
		Failf("DNS name %s from a client on every one of %d schedulable nodes: want %s (%s) within %s%s, failed from %d: %s (%s)",
			name, len(clients), strings.Join(want, ","), about, timeout, CutShort(ctx), len(failed), strings.Join(failed, "; "), f.DNSPodsNow(ctx))
	}
}

// SchedulableNodes lists the nodes ordinary pods may run on. A node meant
// to run pods (not cordoned, no NoSchedule or NoExecute taint but the
// ones the node lifecycle controller sets for a failing node) that is not
// Ready fails the spec, naming it: a check "on every node" never drops a
// dead node silently.
func (f *Framework) SchedulableNodes(ctx context.Context) []corev1.Node {
	ginkgo.GinkgoHelper()
	nodes, err := f.schedulableNodes(ctx)
	if err != nil {
		Failf("%v", err)
	}
	return nodes
}

// schedulableNodes is SchedulableNodes returning its one-line failure.
func (f *Framework) schedulableNodes(ctx context.Context) ([]corev1.Node, error) {
	var out []corev1.Node
	var unusable []string
	var listErr error
	// A node that just turned Ready keeps its not-ready taint a moment:
	// give the control plane ProgramTimeout to settle before failing.
	if Poll(ctx, ProgramTimeout, time.Second, func(ctx context.Context) bool {
		out, unusable, listErr = usableNodes(ctx, f.Client)
		return listErr == nil && len(unusable) == 0
	}) {
		return out, nil
	}
	if listErr != nil {
		return nil, fmt.Errorf("list nodes: %v%s", listErr, CutShort(ctx))
	}
	return nil, fmt.Errorf("want every schedulable node Ready and untainted within %s to run this check on, got unusable: %s%s", ProgramTimeout, strings.Join(unusable, ", "), CutShort(ctx))
}

// usableNodes sorts the nodes meant to run pods (not cordoned, no taint of
// their own) into the usable ones and, described, the others.
func usableNodes(ctx context.Context, c *kube.Client) (usable []corev1.Node, unusable []string, err error) {
	list, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, err
	}
	for _, n := range list.Items {
		switch taint := kube.ConditionTaint(&n); {
		case !kube.MeantForPods(&n):
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

// InternalIP returns a node's InternalIP address.
func InternalIP(n *corev1.Node) string {
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			return a.Address
		}
	}
	return ""
}

// needsMore: the spec's pods need more than Pod Security "restricted"
// allows (a needs:* label), so its namespace does not enforce it.
func needsMore(labels []string) bool {
	return slices.Contains(labels, string(contract.NeedsHostNetwork)) || slices.Contains(labels, string(contract.NeedsPrivileged)) || slices.Contains(labels, string(contract.NeedsRoot))
}

// StartPrivilegedServers is StartServers for pods that need more than Pod
// Security "restricted" allows (what names it: "host-network"). Where the
// cluster's policy refuses them (Pod Security admission, an admission
// webhook or policy), the check is not checked, and says why: a
// guarantee left unproven, neither passed nor failed.
func (f *Framework) StartPrivilegedServers(ctx context.Context, what string, servers ...Server) []*corev1.Pod {
	ginkgo.GinkgoHelper()
	pods := WatchPods(ctx, f, "")
	names := make([]string, len(servers))
	for i, s := range servers {
		pod := ServerPod(s)
		for k, v := range RunLabels() {
			pod.Labels[k] = v
		}
		_, err := f.Pods().Create(ctx, pod, metav1.CreateOptions{})
		if RefusedByPolicy(err) {
			ginkgo.Skip(fmt.Sprintf("not checked: the cluster's policy forbids %s pods (namespace %s: %s)", what, f.Namespace, oneLine(err.Error())))
		}
		if err != nil {
			Failf("create pod %s/%s: %v", f.Namespace, pod.Name, err)
		}
		names[i] = pod.Name
	}
	return waitReady(ctx, pods, names)
}

// RefusedByPolicy: the API server refused an object on policy (admission),
// not for want of permission (RBAC) or a bad request.
func RefusedByPolicy(err error) bool {
	return apierrors.IsForbidden(err) && !strings.Contains(err.Error(), "cannot create resource")
}
