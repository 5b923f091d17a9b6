package framework

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestFromEach(t *testing.T) {
	var pods []*corev1.Pod
	for _, n := range []string{"kp-worker", "kp-worker2", "kp-worker3"} {
		pods = append(pods, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "client-" + n}, Spec: corev1.PodSpec{NodeName: n}})
	}
	// Probes that each wait a while: run one after another they would
	// take 3 times as long.
	var running, most atomic.Int32
	failed := FromEach(context.Background(), pods, func(_ context.Context, from *corev1.Pod) (bool, string) {
		most.Store(max(most.Load(), running.Add(1)))
		defer running.Add(-1)
		time.Sleep(50 * time.Millisecond)
		return from.Spec.NodeName != "kp-worker2", "refused\nsecond line"
	})
	if len(failed) != 1 || failed[0] != "node kp-worker2 (pod ns/client-kp-worker2): refused second line" {
		t.Fatalf("FromEach: want one one-line failure naming kp-worker2, got %q", failed)
	}
	if most.Load() < 2 {
		t.Errorf("FromEach: want the probes run at once, at most %d ran together", most.Load())
	}

	defer func() {
		if r := recover(); r != "boom" {
			t.Errorf("FromEach: want a probe's panic raised again in the caller, got %v", r)
		}
	}()
	FromEach(context.Background(), pods, func(_ context.Context, from *corev1.Pod) (bool, string) {
		if from.Spec.NodeName == "kp-worker3" {
			panic("boom")
		}
		return true, ""
	})
	t.Error("FromEach: want a panic")
}

func TestDescribePod(t *testing.T) {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web-0"}, Spec: corev1.PodSpec{NodeName: "kp-worker2"}, Status: corev1.PodStatus{PodIP: "10.244.2.3"}}
	if got := DescribeTarget(p); got != "pod ns/web-0 10.244.2.3 (node kp-worker2)" {
		t.Errorf("DescribeTarget: got %q", got)
	}
	pending := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web-1"}}
	if got := PodsOnNodes([]*corev1.Pod{p, pending}); !strings.Contains(got, "web-0 (node kp-worker2), web-1 (node none yet)") {
		t.Errorf("PodsOnNodes: got %q", got)
	}
}
