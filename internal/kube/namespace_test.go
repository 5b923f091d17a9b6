package kube

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// A namespace is ready for pods once its default ServiceAccount exists.
func TestWaitDefaultServiceAccount(t *testing.T) {
	c := fake.NewClientset()
	go func() {
		time.Sleep(30 * time.Millisecond)
		_, _ = c.CoreV1().ServiceAccounts("ns").Create(context.Background(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
	}()
	start := time.Now()
	if err := WaitDefaultServiceAccount(context.Background(), c, "ns"); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("want the ServiceAccount seen soon after it appears (30ms), took %s", took)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := WaitDefaultServiceAccount(ctx, c, "other")
	if err == nil || !strings.Contains(err.Error(), "namespace other: want its default ServiceAccount") || !strings.Contains(err.Error(), "kube-controller-manager") {
		t.Errorf("without the ServiceAccount: want one line naming the namespace and kube-controller-manager, got %v", err)
	}
}

// A controller manager slower than the first tries: the wait goes on
// until the timeout, not until a backoff runs out of steps.
func TestWaitDefaultServiceAccountOutlastsASlowControllerManager(t *testing.T) {
	c := fake.NewClientset()
	go func() {
		time.Sleep(1500 * time.Millisecond)
		_, _ = c.CoreV1().ServiceAccounts("slow").Create(context.Background(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
	}()
	if err := WaitDefaultServiceAccount(context.Background(), c, "slow"); err != nil {
		t.Fatalf("ServiceAccount made after 1.5s: want it waited for, got %v", err)
	}
}
