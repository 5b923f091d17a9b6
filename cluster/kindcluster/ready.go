package kindcluster

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeproof/kubeproof/internal/kube"
)

// WaitReady returns once every node and every kube-system pod is Ready. On
// timeout the error names what is not Ready and why.
func WaitReady(ctx context.Context, client kubernetes.Interface, timeout time.Duration) error {
	var lastProblems []string
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		problems, err := notReady(ctx, client)
		if err != nil {
			// The API server may still be settling: note it and keep waiting.
			// A call cut short by the deadline itself says nothing about the
			// cluster: keep what was last seen.
			if ctx.Err() == nil || len(lastProblems) == 0 {
				lastProblems = []string{"API server: " + strings.ReplaceAll(err.Error(), "\n", " ")}
			}
			return false, nil
		}
		lastProblems = problems
		return len(problems) == 0, nil
	})
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("not Ready after %s: %s", timeout, strings.Join(withEvents(ctx, client, lastProblems), "; "))
}

// problem texts start with the object they are about: "node X" or "pod ns/X".
func notReady(ctx context.Context, client kubernetes.Interface) ([]string, error) {
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	var problems []string
	if len(nodes.Items) == 0 {
		problems = append(problems, "no nodes registered")
	}
	for _, n := range nodes.Items {
		// The lifecycle controller lifts its not-ready taint a moment after
		// the node turns Ready; until then the scheduler keeps pods off it.
		for _, t := range n.Spec.Taints {
			if kube.NodeReady(&n) && (t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable) {
				problems = append(problems, fmt.Sprintf("node %s: Ready but still tainted %s", n.Name, t.Key))
			}
		}
		if !kube.NodeReady(&n) {
			why := "no Ready condition yet"
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady {
					why = fmt.Sprintf("Ready=%s %s: %s", c.Status, c.Reason, c.Message)
				}
			}
			problems = append(problems, fmt.Sprintf("node %s: %s", n.Name, why))
		}
	}
	pods, err := client.CoreV1().Pods(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list kube-system pods: %w", err)
	}
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodSucceeded || kube.PodReady(&p) {
			continue
		}
		problems = append(problems, fmt.Sprintf("pod %s/%s on %s: %s", p.Namespace, p.Name, orNone(p.Spec.NodeName), kube.PodProblem(&p)))
	}
	return problems, nil
}

// withEvents appends the last events of each object a problem is about.
func withEvents(ctx context.Context, client kubernetes.Interface, problems []string) []string {
	var out []string
	for _, pr := range problems {
		out = append(out, pr)
		kind, ns, name := subjectOf(pr)
		if name == "" {
			continue
		}
		sel := fields.Set{"involvedObject.kind": kind, "involvedObject.name": name}.AsSelector().String()
		events, err := client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: sel})
		if err != nil || len(events.Items) == 0 {
			continue
		}
		items := events.Items
		sort.Slice(items, func(i, j int) bool { return eventTime(&items[i]).Before(eventTime(&items[j])) })
		if len(items) > 3 {
			items = items[len(items)-3:]
		}
		for _, e := range items {
			out = append(out, fmt.Sprintf("    event %s %s: %s", e.Type, e.Reason, strings.TrimSpace(e.Message)))
		}
	}
	return out
}

func subjectOf(problem string) (kind, ns, name string) {
	fields := strings.Fields(problem)
	if len(fields) < 2 {
		return "", "", ""
	}
	obj := strings.TrimSuffix(fields[1], ":")
	switch fields[0] {
	case "node":
		return "Node", "", obj
	case "pod":
		if ns, name, ok := strings.Cut(obj, "/"); ok {
			return "Pod", ns, name
		}
	}
	return "", "", ""
}

func eventTime(e *corev1.Event) time.Time {
	if !e.LastTimestamp.IsZero() {
		return e.LastTimestamp.Time
	}
	return e.EventTime.Time
}

func orNone(s string) string {
	if s == "" {
		return "<unscheduled>"
	}
	return s
}
