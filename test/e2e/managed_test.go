//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/yaml"

	"github.com/kubeproof/kubeproof/internal/kube"
)

// The API server's admission configuration for a locked-down cluster: Pod
// Security "restricted" enforced in every namespace that does not say
// otherwise, kube-system exempt (its pods need the host).
const podSecurityAdmission = `apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: PodSecurity
  configuration:
    apiVersion: pod-security.admission.config.k8s.io/v1
    kind: PodSecurityConfiguration
    defaults:
      enforce: restricted
      enforce-version: latest
    exemptions:
      namespaces: [kube-system, local-path-storage]
`

const (
	admissionFile     = "/etc/kubernetes/kubeproof-e2e-admission.yaml"
	apiServerManifest = "/etc/kubernetes/manifests/kube-apiserver.yaml"
)

// enforceRestricted makes the cluster refuse pods that Pod Security
// "restricted" forbids, in every namespace, as a locked-down managed
// cluster does: the kube-apiserver static pod is given the admission
// configuration above, and the test waits until a host-network pod is
// refused (a server-side dry run: nothing is created).
func enforceRestricted(t *testing.T, c *kube.Client, controlPlane string) {
	t.Helper()
	write := exec.Command("docker", "exec", "-i", controlPlane, "sh", "-c", "cat > "+admissionFile)
	write.Stdin = strings.NewReader(podSecurityAdmission)
	if out, err := write.CombinedOutput(); err != nil {
		t.Fatalf("write %s on %s: %v: %s", admissionFile, controlPlane, err, out)
	}
	raw, err := exec.Command("docker", "exec", controlPlane, "cat", apiServerManifest).Output()
	if err != nil {
		t.Fatalf("read %s: %v", apiServerManifest, err)
	}
	var pod corev1.Pod
	if err := yaml.Unmarshal(raw, &pod); err != nil {
		t.Fatalf("parse %s: %v", apiServerManifest, err)
	}
	ctr := &pod.Spec.Containers[0]
	ctr.Command = append(ctr.Command, "--admission-control-config-file="+admissionFile)
	ctr.VolumeMounts = append(ctr.VolumeMounts, corev1.VolumeMount{Name: "kubeproof-e2e-admission", MountPath: admissionFile, ReadOnly: true})
	pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: "kubeproof-e2e-admission",
		VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: admissionFile}}})
	edited, err := yaml.Marshal(&pod)
	if err != nil {
		t.Fatal(err)
	}
	// Written elsewhere first and moved: the kubelet never reads half a file.
	put := exec.Command("docker", "exec", "-i", controlPlane, "sh", "-c", "cat > /etc/kubernetes/apiserver.yaml.new && mv /etc/kubernetes/apiserver.yaml.new "+apiServerManifest)
	put.Stdin = strings.NewReader(string(edited))
	if out, err := put.CombinedOutput(); err != nil {
		t.Fatalf("write %s: %v: %s", apiServerManifest, err, out)
	}
	probe := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "probe"},
		Spec:       corev1.PodSpec{HostNetwork: true, Containers: []corev1.Container{{Name: "c", Image: "kubeproof.local/none"}}},
	}
	start := time.Now()
	var last string
	if err := wait.PollUntilContextTimeout(context.Background(), time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().Pods("default").Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil {
			last = "a host-network pod was admitted"
		} else {
			last = err.Error()
		}
		return apierrors.IsForbidden(err) && strings.Contains(err.Error(), "PodSecurity"), nil
	}); err != nil {
		t.Fatalf("kube-apiserver with Pod Security restricted enforced: want a host-network pod refused within 3m, got: %s", last)
	}
	t.Logf("Pod Security restricted enforced cluster-wide %.0fs after the kube-apiserver manifest changed: %s", time.Since(start).Seconds(), last)
}

// hostNetworkNotChecked: the reason a host-network check gives where Pod
// Security admission refuses its pods.
func hostNetworkNotChecked(reason string) error {
	for _, want := range []string{"not checked: the cluster's policy forbids host-network pods", "violates PodSecurity \"restricted:latest\"", "hostNetwork=true"} {
		if !strings.Contains(reason, want) {
			return fmt.Errorf("want the reason to contain %q, got %q", want, reason)
		}
	}
	return nil
}
