//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/e2e-framework/klient/decoder"
	"sigs.k8s.io/e2e-framework/klient/k8s"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
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
	// The scheduler and the controller manager lost their leader Leases
	// while the API server was away, and may be restarting: a run needs
	// both, so wait until each has renewed its Lease since.
	up := time.Now()
	for _, component := range []string{"kube-scheduler", "kube-controller-manager"} {
		var seen string
		if err := wait.PollUntilContextTimeout(context.Background(), time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
			l, err := c.CoordinationV1().Leases("kube-system").Get(ctx, component, metav1.GetOptions{})
			if err != nil {
				seen = err.Error()
				return false, nil
			}
			if l.Spec.RenewTime == nil {
				seen = "never renewed"
				return false, nil
			}
			seen = "last renewed " + l.Spec.RenewTime.Format(time.RFC3339Nano)
			return l.Spec.RenewTime.After(up), nil
		}); err != nil {
			t.Fatalf("%s after the kube-apiserver restart: want its Lease renewed within 3m, got %s", component, seen)
		}
	}
	t.Logf("kube-scheduler and kube-controller-manager active again %.0fs after the kube-apiserver manifest changed", time.Since(start).Seconds())
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

// identityNamespace holds the ServiceAccounts the managed cluster's runs
// act as; the test made it, not kubeproof, so no run or cleanup touches it.
const identityNamespace = "kubeproof-e2e-identity"

// serviceAccountKubeconfig creates ServiceAccount name, binds it to what
// `kubeproof rbac --profile PROFILE --subject ...` prints (applied with
// e2e-framework's decoder, after edit), and writes a kubeconfig that acts
// as it with a token, under a context not named kind-*: an identity that
// may do what the profile needs and nothing more.
func serviceAccountKubeconfig(t *testing.T, c *kube.Client, name, profile string, edit func(k8s.Object)) string {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: identityNamespace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().ServiceAccounts(identityNamespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	printed, err := exec.Command(kubeproofBin(t), "rbac", "--profile", profile, "--subject", "serviceaccount:"+identityNamespace+":"+name).Output()
	if err != nil {
		t.Fatalf("kubeproof rbac --profile %s: %v", profile, err)
	}
	res, err := resources.New(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decoder.DecodeAll(ctx, bytes.NewReader(printed))
	if err != nil {
		t.Fatalf("decode what kubeproof rbac printed: %v\n%s", err, printed)
	}
	for _, o := range objs {
		// Each identity its own roles and bindings.
		o.SetName(o.GetName() + "-" + name)
		switch r := o.(type) {
		case *rbacv1.ClusterRoleBinding:
			r.RoleRef.Name += "-" + name
		case *rbacv1.RoleBinding:
			r.RoleRef.Name += "-" + name
		}
		if edit != nil {
			edit(o)
		}
		if err := res.Create(ctx, o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
	token, err := c.CoreV1().ServiceAccounts(identityNamespace).CreateToken(ctx, name, &authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(3600))}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["managed"] = &clientcmdapi.Cluster{Server: c.Config.Host, CertificateAuthorityData: c.Config.CAData}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token.Status.Token}
	cfg.Contexts["managed-sim"] = &clientcmdapi.Context{Cluster: "managed", AuthInfo: name}
	cfg.CurrentContext = "managed-sim"
	path := filepath.Join(t.TempDir(), name+".kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	t.Logf("identity %s: ServiceAccount %s/%s bound to `kubeproof rbac --profile %s` (%d objects), context managed-sim", name, identityNamespace, name, profile, len(objs))
	return path
}

// withoutVerb drops one verb on one resource from the printed ClusterRole.
func withoutVerb(resource, verb string) func(k8s.Object) {
	return func(o k8s.Object) {
		role, ok := o.(*rbacv1.ClusterRole)
		if !ok {
			return
		}
		for i, r := range role.Rules {
			if slices.Contains(r.Resources, resource) {
				role.Rules[i].Verbs = slices.DeleteFunc(slices.Clone(r.Verbs), func(v string) bool { return v == verb })
			}
		}
	}
}
