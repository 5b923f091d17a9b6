package runner

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubeproof/kubeproof/internal/exitcode"
	"github.com/kubeproof/kubeproof/internal/kube"
)

func TestCheckPullSecret(t *testing.T) {
	c := &kube.Client{Interface: fake.NewClientset(
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "regcred"}, Type: corev1.SecretTypeDockerConfigJson},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ci", Name: "opaque"}, Type: corev1.SecretTypeOpaque},
	)}
	for ref, code := range map[string]int{"": 0, "regcred": 0, "default/regcred": 0, "ci/missing": exitcode.Environment, "ci/opaque": exitcode.Usage} {
		err := checkPullSecret(context.Background(), c, ref)
		if got := exitcode.Of(err); got != code || err != nil && (strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "--image-pull-secret")) {
			t.Errorf("%q: want exit %d and one line naming the flag, got %d: %v", ref, code, got, err)
		}
	}
}
