package runner

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubeproof/kubeproof/fixtures/meta"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/internal/proc"
)

// cleanup leaves a live run's namespaces to it, unless forced.
func TestCleanupLeavesLiveRunsAlone(t *testing.T) {
	sleeper := exec.Command("sleep", "30")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
	ns := func(name, run, owner string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name,
			Labels:      map[string]string{meta.LabelManagedBy: meta.ManagedBy, meta.LabelRunID: run},
			Annotations: map[string]string{meta.AnnotationOwner: owner}}}
	}
	c := &kube.Client{Interface: fake.NewClientset(ns("live-ns", "live", proc.Owner(sleeper.Process.Pid)), ns("dead-ns", "dead", proc.Owner(999999999)))}
	left, skipped := Cleanup(context.Background(), c, meta.ManagedSelector(""), 5*time.Second, false)
	if len(left) != 0 || len(skipped) != 1 || !strings.Contains(skipped[0], "live-ns") {
		t.Fatalf("left %v, skipped %v: want the dead run's namespace removed and the live run's left to it", left, skipped)
	}
	if _, err := c.CoreV1().Namespaces().Get(context.Background(), "live-ns", metav1.GetOptions{}); err != nil {
		t.Errorf("live run's namespace deleted: %v", err)
	}
	left, skipped = Cleanup(context.Background(), c, meta.ManagedSelector(""), 5*time.Second, true)
	if len(left) != 0 || len(skipped) != 0 {
		t.Errorf("forced: left %v, skipped %v; want everything removed", left, skipped)
	}
}

// sweep deletes the run's namespaces and their pods, and nothing of
// another run.
func TestSweepDeletesTheRunsPods(t *testing.T) {
	ns := func(name, run string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{meta.LabelManagedBy: meta.ManagedBy, meta.LabelRunID: run}}}
	}
	pod := func(ns, name string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	}
	c := &kube.Client{Interface: fake.NewClientset(ns("mine", "r1"), pod("mine", "web"), ns("theirs", "r2"), pod("theirs", "web"))}
	ctx := context.Background()
	if left := sweep(ctx, c, "r1"); len(left) != 0 {
		t.Fatalf("left %v, want nothing", left)
	}
	if _, err := c.CoreV1().Pods("mine").Get(ctx, "web", metav1.GetOptions{}); err == nil {
		t.Error("the run's pod is still there")
	}
	if _, err := c.CoreV1().Pods("theirs").Get(ctx, "web", metav1.GetOptions{}); err != nil {
		t.Errorf("another run's pod was touched: %v", err)
	}
	if _, err := c.CoreV1().Namespaces().Get(ctx, "theirs", metav1.GetOptions{}); err != nil {
		t.Errorf("another run's namespace was touched: %v", err)
	}
}
