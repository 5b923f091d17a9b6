//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/kubeproof/kubeproof/fixtures/workloadimage"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/reporters/results"
)

// preUpgrade runs the pre-upgrade profile's own checks on a healthy
// cluster (they pass), then breaks what each one judges and requires each
// to fail naming it: a pod without a controller and a PodDisruptionBudget
// that allows it no disruption (nothing can drain its node), a node
// whose kubelet reports a version four minors behind the target, and a
// client of an API version the target removes. Targets the
// upgrade policy forbids end the run with exit 2 before any check.
func preUpgrade(t *testing.T, kubeconfig, cluster string) {
	ctx := context.Background()
	c, err := kube.NewClient(kubeconfig, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct{ target, want string }{
		{"", "--profile pre-upgrade needs --target-version"},
		{"v1.36.0", "skips a minor version: Kubernetes is upgraded one minor version at a time"},
		{"v1.33.0", "is a downgrade"},
	} {
		args := []string{"--kubeconfig", kubeconfig, "--profile", "pre-upgrade"}
		if bad.target != "" {
			args = append(args, "--target-version", bad.target)
		}
		code, _, out := kubeproofRun(t, args...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != 2 || !strings.Contains(lines[len(lines)-1], bad.want) || strings.Contains(out, "running ") {
			t.Errorf("--target-version %q: want exit 2 before any check, its last line saying %q, got exit %d: %q", bad.target, bad.want, code, out)
		}
	}

	// A client of an API version its CRD marks deprecated: named as a
	// warning, since no release removes it.
	requestDeprecated(t, c)

	preUpgradeChecks := []string{"every kubelet within the skew", "no PodDisruptionBudget blocks", "every node can be drained", "no API in live use that the target"}
	code, run, _ := kubeproofRun(t, "--kubeconfig", kubeconfig, "--profile", "pre-upgrade", "--target-version", "v1.35.4", "--label-filter", "area:upgrade")
	if code != 0 {
		t.Fatalf("healthy cluster: want exit 0, got %d", code)
	}
	for _, name := range preUpgradeChecks {
		if ch := findPrefix(run, name); ch == nil || ch.Verdict != results.Passed {
			t.Errorf("healthy cluster: want %q passed, got %+v", name, ch)
		}
	}
	const warned = "e2e.kubeproof.io/v1beta1 widgets (deprecated, no removal announced)"
	if ch := findPrefix(run, preUpgradeChecks[3]); ch == nil || !slices.ContainsFunc(ch.Warnings, func(w string) bool { return strings.Contains(w, warned) }) {
		t.Errorf("want %q to warn of %q, got %+v", preUpgradeChecks[3], warned, ch)
	}

	// A pod no controller owns, on a worker, and a budget that lets none
	// of its pods go.
	node := cluster + "-worker"
	ns := "kubeproof-e2e-preupgrade"
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kube.DeleteNamespaceNow(context.Background(), c, ns) })
	if err := kube.WaitDefaultServiceAccount(ctx, c, ns); err != nil {
		t.Fatal(err)
	}
	image, err := workloadimage.OnKind(ctx, cluster)
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "lonely"}
	_, err = c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "lonely", Labels: labels},
		Spec: corev1.PodSpec{NodeName: node, TerminationGracePeriodSeconds: ptr.To(int64(0)),
			Containers: []corev1.Container{{Name: "serve", Image: image, ImagePullPolicy: corev1.PullNever, Args: []string{"serve"}}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "all-of-it"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(intstr.FromInt32(1)), Selector: &metav1.LabelSelector{MatchLabels: labels}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := c.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "all-of-it", metav1.GetOptions{})
		return err == nil && p.Status.ExpectedPods == 1 && p.Status.CurrentHealthy == 1, nil
	})
	if err != nil {
		t.Fatalf("PodDisruptionBudget %s/all-of-it never counted its healthy pod: %v", ns, err)
	}

	// A node registered by a kubelet v1.31.0 (no kubelet behind it: it
	// never turns Ready, so the run leaves it alone but for this check):
	// four minors behind a v1.35 API server, within the skew of v1.34.
	old := cluster + "-old-kubelet"
	_, err = c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: old},
		Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.31.0"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.CoreV1().Nodes().Delete(context.Background(), old, metav1.DeleteOptions{}) })
	if n, err := c.CoreV1().Nodes().Get(ctx, old, metav1.GetOptions{}); err != nil || n.Status.NodeInfo.KubeletVersion != "v1.31.0" {
		patch := []byte(`{"status":{"nodeInfo":{"kubeletVersion":"v1.31.0"}}}`)
		if _, err := c.CoreV1().Nodes().Patch(ctx, old, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
			t.Fatal(err)
		}
	}

	// A client of storage.k8s.io/v1alpha1, which v1.35 no longer serves.
	if _, err := c.CoreV1().RESTClient().Get().AbsPath("/apis/storage.k8s.io/v1alpha1/volumeattributesclasses").DoRaw(ctx); err != nil {
		t.Fatalf("list storage.k8s.io/v1alpha1 volumeattributesclasses (testdata/suites-cluster.yaml serves it): %v", err)
	}

	code, run, _ = kubeproofRun(t, "--kubeconfig", kubeconfig, "--profile", "pre-upgrade", "--target-version", "v1.35.4", "--label-filter", "area:upgrade")
	if code != 1 {
		t.Errorf("broken cluster: want exit 1, got %d", code)
	}
	for i, want := range []string{
		fmt.Sprintf("node %s kubelet v1.31.0 would be 4 minor versions behind", old),
		fmt.Sprintf("%s/all-of-it (minAvailable 1; 1 of 1 pods healthy, 0 disruptions allowed)", ns),
		fmt.Sprintf("node %s: cannot delete Pods that declare no controller (use --force to override): %s/lonely", node, ns),
		"storage.k8s.io/v1alpha1 volumeattributesclasses (removed in 1.35)",
	} {
		ch := findPrefix(run, preUpgradeChecks[i])
		if ch == nil || ch.Verdict != results.Failed || !strings.Contains(ch.Reason, want) {
			t.Errorf("broken cluster: want %q failed naming %q, got %+v", preUpgradeChecks[i], want, ch)
			continue
		}
		t.Logf("failed as expected: %s", ch.Reason)
	}
}

// widgetCRD serves e2e.kubeproof.io/v1beta1, deprecated, beside v1.
const widgetCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.e2e.kubeproof.io
spec:
  group: e2e.kubeproof.io
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1beta1
    served: true
    storage: false
    deprecated: true
    schema: {openAPIV3Schema: {type: object}}
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object}}
`

// requestDeprecated creates the CRD and lists its deprecated version once
// it is served: the API server records the request in its metrics.
func requestDeprecated(t *testing.T, c *kube.Client) {
	t.Helper()
	ctx := context.Background()
	crd := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(widgetCRD), &crd.Object); err != nil {
		t.Fatal(err)
	}
	crds := dynamic.NewForConfigOrDie(c.Config).Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	if _, err := crds.Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = crds.Delete(context.Background(), crd.GetName(), metav1.DeleteOptions{}) })
	var last error
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, last = c.CoreV1().RESTClient().Get().AbsPath("/apis/e2e.kubeproof.io/v1beta1/widgets").DoRaw(ctx)
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("list e2e.kubeproof.io/v1beta1 widgets: want an answer within 1m, got %v", last)
	}
}
