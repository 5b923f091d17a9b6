//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"

	"github.com/kubeproof/kubeproof/fixtures"
	"github.com/kubeproof/kubeproof/fixtures/meta"
	"github.com/kubeproof/kubeproof/internal/kube"
)

func createNamespace(t *testing.T, c *kube.Client, prefix string) string {
	t.Helper()
	ns, err := c.CreateNamespace(context.Background(), "kubeproof-e2e-"+prefix, map[string]string{meta.LabelManagedBy: meta.ManagedBy}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A test that deleted its whole cluster has nothing left to clean.
		err := c.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) && !utilnet.IsConnectionRefused(err) {
			t.Errorf("delete namespace %s: %v", ns, err)
		}
	})
	return ns
}

func startServer(t *testing.T, c *kube.Client, ns, name, node, image string) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	pod := fixtures.ServerPod(fixtures.ServerOptions{Name: name, Image: image, Node: node})
	if _, err := c.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod %s/%s: %v", ns, name, err)
	}
	ready, err := c.WaitPodReady(ctx, ns, name, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return ready
}

// writeArtifact stores measurements where CI keeps them ($ARTIFACTS).
func writeArtifact(t *testing.T, name string, v any) {
	t.Helper()
	dir := os.Getenv("ARTIFACTS")
	if dir == "" {
		return
	}
	data, _ := json.MarshalIndent(v, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Errorf("write artifact %s: %v", name, err)
	}
}
