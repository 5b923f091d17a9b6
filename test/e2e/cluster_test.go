//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/kubeproof/kubeproof/cluster/dockerup"
	"github.com/kubeproof/kubeproof/cluster/kindcluster"
	"github.com/kubeproof/kubeproof/fixtures/wire"
	"github.com/kubeproof/kubeproof/fixtures/workloadimage"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/nodeimage"
)

// TestClusterLifecycle brings a default kind cluster up from the image
// built here, proves its nodes, DNS and pod network work, and deletes it.
func TestClusterLifecycle(t *testing.T) {
	ctx := context.Background()
	timings := map[string]float64{}
	measure := func(name string, f func() error) {
		t.Helper()
		start := time.Now()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		timings[name] = time.Since(start).Seconds()
		t.Logf("%s took %.1fs", name, timings[name])
	}
	measure("docker up", func() error { return dockerup.Ensure(ctx, dockerup.Options{}) })
	var image string
	measure("node image build", func() (err error) {
		image, err = nodeimage.Build(ctx, nodeimage.Options{})
		return err
	})
	const name = "kubeproof-e2e-lifecycle"
	// A run killed earlier may have left the cluster behind (stopped
	// containers survive a machine's restart): start clean.
	if err := kindcluster.Delete(name, ""); err != nil {
		t.Fatal(err)
	}
	var cl *kindcluster.Cluster
	measure("cluster create (3 nodes)", func() (err error) {
		cl, err = kindcluster.Create(ctx, kindcluster.CreateOptions{Name: name, Image: image, ReadyTimeout: 5 * time.Minute})
		return err
	})
	deleted := false
	t.Cleanup(func() {
		if !deleted {
			if err := kindcluster.Delete(name, ""); err != nil {
				t.Errorf("delete cluster: %v", err)
			}
		}
	})
	client, err := kube.NewClient(cl.KubeconfigPath, "")
	if err != nil {
		t.Fatal(err)
	}

	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var workers []string
	for _, n := range nodes.Items {
		if !kube.NodeReady(&n) {
			t.Errorf("node %s is not Ready", n.Name)
		}
		if _, cp := n.Labels["node-role.kubernetes.io/control-plane"]; !cp {
			workers = append(workers, n.Name)
		}
	}
	if len(nodes.Items) != 3 || len(workers) != 2 {
		t.Fatalf("want 3 nodes (1 control plane, 2 workers), got %d nodes, workers %v", len(nodes.Items), workers)
	}
	pods, err := client.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if !kube.PodReady(&p) {
			t.Errorf("kube-system pod %s is not Ready: %s", p.Name, kube.PodProblem(&p))
		}
	}

	var workload string
	measure("build and load workload image", func() (err error) { workload, err = workloadimage.OnKind(ctx, name); return err })
	ns := createNamespace(t, client, "lifecycle")
	a := startServer(t, client, ns, "server-a", workers[0], workload)
	b := startServer(t, client, ns, "server-b", workers[1], workload)

	var dns wire.Result
	execJSON(t, client, ns, a.Name, &dns, "/workload", "resolve", "kubernetes.default.svc.cluster.local")
	if !dns.OK || len(dns.Addresses) == 0 || dns.Addresses[0] != "10.96.0.1" {
		t.Errorf("kubernetes.default.svc.cluster.local from pod %s on %s: want 10.96.0.1, got %v (%s)", a.Name, a.Spec.NodeName, dns.Addresses, dns.Detail)
	}
	// No upstream forwarding: outside names must fail, and fail fast.
	var outside struct {
		OK        bool
		LatencyMs float64
	}
	execJSON(t, client, ns, a.Name, &outside, "/workload", "resolve", "--timeout", "10s", "example.com")
	if outside.OK || outside.LatencyMs > 5000 {
		t.Errorf("example.com from pod %s: want a quick failure (no upstream DNS), got ok=%v after %.0fms", a.Name, outside.OK, outside.LatencyMs)
	}

	var resp struct {
		OK     bool
		Body   string
		Error  string
		Detail string
	}
	url := fmt.Sprintf("http://%s:8080/hostname", b.Status.PodIP)
	execJSON(t, client, ns, a.Name, &resp, "/workload", "get", "--timeout", "5s", url)
	if !resp.OK || resp.Body != b.Name {
		t.Errorf("pod %s on %s -> %s (pod %s on %s): want body %q, got ok=%v body=%q error=%s %s",
			a.Name, a.Spec.NodeName, url, b.Name, b.Spec.NodeName, b.Name, resp.OK, resp.Body, resp.Error, resp.Detail)
	}

	// kubeadm's upgrade health check: a Job of the pause image with -v
	// must complete, or `kubeadm upgrade` stops at its preflight.
	measure("pause -v Job completes (kubeadm upgrade's health check)", func() error { return pauseJobCompletes(ctx, client, ns, name+"-control-plane") })

	measure("cluster delete", func() error { return kindcluster.Delete(name, "") })
	deleted = true
	writeArtifact(t, "cluster-lifecycle-timings.json", timings)
}

func execJSON(t *testing.T, c *kube.Client, ns, pod string, into any, cmd ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := c.Exec(ctx, ns, pod, "", cmd...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), into); err != nil {
		t.Fatalf("%s in %s: output %q is not JSON: %v", strings.Join(cmd, " "), pod, out, err)
	}
}

// pauseJobCompletes runs what kubeadm's upgrade health check runs: a Job
// of the node image's pause image (the one kubeadm lists) with -v.
func pauseJobCompletes(ctx context.Context, c *kube.Client, ns, controlPlane string) error {
	out, err := exec.Command("docker", "exec", controlPlane, "kubeadm", "config", "images", "list", "--kubernetes-version", nodeimage.DefaultKubernetesVersion).Output()
	if err != nil {
		return fmt.Errorf("kubeadm config images list: %v", err)
	}
	var pause string
	for _, ref := range strings.Fields(string(out)) {
		if strings.Contains(ref, "/pause:") {
			pause = ref
		}
	}
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "health-check"}, Spec: batchv1.JobSpec{BackoffLimit: ptr.To(int32(0)),
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "pause", Image: pause, ImagePullPolicy: corev1.PullNever, Args: []string{"-v"}}}}}}}
	if _, err := c.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		return err
	}
	var last string
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		j, err := c.BatchV1().Jobs(ns).Get(ctx, job.Name, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		last = fmt.Sprintf("succeeded %d, failed %d, active %d", j.Status.Succeeded, j.Status.Failed, j.Status.Active)
		return j.Status.Succeeded == 1, nil
	})
	if err != nil {
		return fmt.Errorf("Job %s/%s of %s -v: want it complete within 1m, got %s", ns, job.Name, pause, last)
	}
	return nil
}
