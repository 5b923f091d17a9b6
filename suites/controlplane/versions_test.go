package controlplane

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/version"
)

func TestSkewProblem(t *testing.T) {
	server := version.MustParseGeneric("v1.34.4")
	pod := func(image string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "kube-scheduler", Image: image}}}}
	}
	sched, proxy := skewRules[1], skewRules[2]
	for _, c := range []struct {
		name  string
		rule  skewRule
		image string
		want  string
		ok    bool
	}{
		{"same", sched, "registry.k8s.io/kube-scheduler:v1.34.4", "", true},
		{"older patch", sched, "registry.k8s.io/kube-scheduler:v1.34.1", "", true},
		{"newer patch", sched, "registry.k8s.io/kube-scheduler:v1.34.9", "", true},
		{"one minor older", sched, "registry.k8s.io/kube-scheduler:v1.33.0", "", true},
		{"two minors older", sched, "registry.k8s.io/kube-scheduler:v1.32.0", "more than 1 minor older", true},
		{"newer minor", sched, "registry.k8s.io/kube-scheduler:v1.35.0", "newer than the API server", true},
		{"kube-proxy three older", proxy, "registry.k8s.io/kube-proxy:v1.31.2", "", true},
		{"kube-proxy four older", proxy, "registry.k8s.io/kube-proxy:v1.30.2", "more than 3 minor older", true},
		{"registry port, tag with digest", sched, "localhost:5000/kube-scheduler:v1.34.4@sha256:abc", "", true},
		{"digest only", sched, "registry.k8s.io/kube-scheduler@sha256:abc", "has no version tag", false},
		{"custom tag", sched, "example.com/sched:latest", "has no version tag", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := skewProblem(c.rule, pod(c.image), server)
			if ok != c.ok || (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
				t.Errorf("skewProblem(%s) = %q, %v; want %q, %v", c.image, got, ok, c.want, c.ok)
			}
		})
	}
}
