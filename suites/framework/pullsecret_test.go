package framework

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubeproof/kubeproof/fixtures/meta"
	"github.com/kubeproof/kubeproof/internal/kube"
)

func TestPullSecretReachesEveryNamespaceAndPod(t *testing.T) {
	saved := Context
	defer func() { Context = saved }()
	Context.RunID, Context.WorkloadImage, Context.ImagePullSecret = "r1", "registry.example/kubeproof/workload@sha256:ab", "ci/regcred"
	c := &kube.Client{Interface: fake.NewClientset(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ci", Name: "regcred"},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`)},
	})}
	for _, ns := range []string{"kubeproof-a", "kubeproof-b"} {
		if err := copyPullSecret(context.Background(), c, ns); err != nil {
			t.Fatal(err)
		}
		s, err := c.CoreV1().Secrets(ns).Get(context.Background(), PullSecretName, metav1.GetOptions{})
		if err != nil || s.Type != corev1.SecretTypeDockerConfigJson || string(s.Data[corev1.DockerConfigJsonKey]) != `{"auths":{}}` || s.Labels[meta.LabelRunID] != "r1" {
			t.Fatalf("namespace %s: want a labelled copy of ci/regcred, got %+v (%v)", ns, s, err)
		}
	}
	p := ServerPod(Server{Name: "w"})
	if len(p.Spec.ImagePullSecrets) != 1 || p.Spec.ImagePullSecrets[0].Name != PullSecretName || p.Spec.Containers[0].Image != Context.WorkloadImage || p.Spec.Containers[0].ImagePullPolicy != corev1.PullIfNotPresent {
		t.Fatalf("pod: want image %s pulled with Secret %s if not present, got %+v, %s, %s", Context.WorkloadImage, PullSecretName, p.Spec.ImagePullSecrets, p.Spec.Containers[0].Image, p.Spec.Containers[0].ImagePullPolicy)
	}
}
