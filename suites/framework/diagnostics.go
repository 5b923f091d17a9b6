package framework

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/suites/contract"
)

// dumpOnFailure records, for a failed spec, the namespace's events and the
// status and last log lines of its pods: what a person would look at first.
func (f *Framework) dumpOnFailure(ctx context.Context) {
	if !ginkgo.CurrentSpecReport().Failed() {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	text := Diagnostics(ctx, f.Client, f.Namespace)
	if f.usedPeers && peersNamespace != "" {
		text += Diagnostics(ctx, f.Client, peersNamespace)
	}
	fmt.Fprint(ginkgo.GinkgoWriter, text)
	ginkgo.AddReportEntry(contract.EntryDiagnostics, text, ginkgo.ReportEntryVisibilityNever)
}

// Diagnostics describes a namespace: pods (node, IP, readiness, why not),
// events in time order, and the tail of each container's log.
func Diagnostics(ctx context.Context, c *kube.Client, ns string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "--- diagnostics of namespace %s ---\n", ns)
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		fmt.Fprintf(&b, "list pods: %v\n", err)
	} else {
		for _, p := range pods.Items {
			state := "Ready"
			if !kube.PodReady(&p) {
				state = kube.PodProblem(&p)
			}
			fmt.Fprintf(&b, "pod %s node=%s ip=%s phase=%s: %s\n", p.Name, p.Spec.NodeName, p.Status.PodIP, p.Status.Phase, state)
		}
	}
	events, err := c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err == nil {
		items := events.Items
		sort.Slice(items, func(i, j int) bool { return items[i].LastTimestamp.Before(&items[j].LastTimestamp) })
		for _, e := range items {
			fmt.Fprintf(&b, "event %s %s/%s %s: %s\n", e.LastTimestamp.Format("15:04:05"), e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, strings.TrimSpace(e.Message))
		}
	}
	if pods != nil {
		for _, p := range pods.Items {
			for _, cs := range p.Status.ContainerStatuses {
				raw, err := c.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{Container: cs.Name, TailLines: ptr.To(int64(20))}).DoRaw(ctx)
				if err != nil {
					continue
				}
				fmt.Fprintf(&b, "log %s/%s (last 20 lines):\n%s", p.Name, cs.Name, indent(string(raw)))
			}
		}
	}
	return b.String()
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ") + "\n"
}

// PodState says in a word or a few where a pod stands: "Ready",
// "terminating", why it is not Ready, or "gone" for no pod.
func PodState(p *corev1.Pod) string {
	switch {
	case p == nil:
		return "gone"
	case p.DeletionTimestamp != nil:
		return "terminating"
	case kube.PodReady(p):
		return "Ready"
	}
	return kube.PodProblem(p)
}

// DescribePods prints pods for a failure line: "web-x on dev-worker:
// Ready; web-y on ...", or "no pods".
func DescribePods(pods []*corev1.Pod) string {
	if len(pods) == 0 {
		return "no pods"
	}
	var parts []string
	for _, p := range pods {
		parts = append(parts, fmt.Sprintf("%s on %s: %s", p.Name, p.Spec.NodeName, PodState(p)))
	}
	return strings.Join(parts, "; ")
}

// DescribePod names a pod and the node it runs on, for a failure line:
// "pod ns/client-0 (node kp-worker)". A reader sees at once when every
// failure shares one node.
func DescribePod(p *corev1.Pod) string {
	return fmt.Sprintf("pod %s/%s (node %s)", p.Namespace, p.Name, nodeOf(p))
}

// DescribeTarget names a pod that traffic is sent to, with the address
// used: "pod ns/web-0 10.244.2.3 (node kp-worker2)".
func DescribeTarget(p *corev1.Pod) string {
	return fmt.Sprintf("pod %s/%s %s (node %s)", p.Namespace, p.Name, p.Status.PodIP, nodeOf(p))
}

// PodsOnNodes names pods of one namespace with their nodes, for the
// backends of a failure line: "backend-0 (node kp-worker), backend-1
// (node kp-worker2)".
func PodsOnNodes(pods []*corev1.Pod) string {
	if len(pods) == 0 {
		return "no pods"
	}
	var parts []string
	for _, p := range pods {
		parts = append(parts, fmt.Sprintf("%s (node %s)", p.Name, nodeOf(p)))
	}
	return strings.Join(parts, ", ")
}

func nodeOf(p *corev1.Pod) string {
	if p.Spec.NodeName == "" {
		return "none yet"
	}
	return p.Spec.NodeName
}

// DNSPodsNow describes the cluster DNS pods (k8s-app=kube-dns in
// kube-system, as kubeadm, kind and most managed clusters label them):
// the server side of a failed lookup, for its failure line.
func (f *Framework) DNSPodsNow(ctx context.Context) string {
	// The spec's ctx may have ended: the line still wants its servers.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	list, err := f.Client.CoreV1().Pods(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=kube-dns"})
	if err != nil {
		return "cluster DNS pods: " + oneLine(err.Error())
	}
	return "cluster DNS pods " + DescribePods(Ptrs(list.Items))
}

// ListPods lists the spec's pods matching selector ("" for all).
func (f *Framework) ListPods(ctx context.Context, selector string) ([]*corev1.Pod, error) {
	list, err := f.Client.CoreV1().Pods(f.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("list pods %s in %s: %w", selector, f.Namespace, err)
	}
	return Ptrs(list.Items), nil
}

// PodsNow describes the spec's pods matching selector, for a failure line.
func (f *Framework) PodsNow(ctx context.Context, selector string) string {
	pods, err := f.ListPods(ctx, selector)
	if err != nil {
		return err.Error()
	}
	return DescribePods(pods)
}
