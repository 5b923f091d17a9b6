package controlplane

import (
	"context"
	"fmt"
	"strings"

	"github.com/onsi/ginkgo/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/version"

	"github.com/kubeproof/kubeproof/suites/framework"
)

// skewRule is one component's place in the version skew policy: never
// newer than the API server, at most behind minors older.
type skewRule struct {
	component, selector string
	behind              uint
}

// skewRules: kube-controller-manager and kube-scheduler one minor behind
// at most, kube-proxy three (the policy since v1.28).
var skewRules = []skewRule{
	{"kube-controller-manager", "component=kube-controller-manager", 1},
	{"kube-scheduler", "component=kube-scheduler", 1},
	{"kube-proxy", "k8s-app=kube-proxy", 3},
}

func componentVersions(ctx context.Context, f *framework.Framework) {
	server, serverVersion := f.ServerVersion()
	var problems, unseen []string
	judged := 0
	for _, r := range skewRules {
		pods, err := f.Client.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: r.selector})
		if err != nil {
			framework.Failf("list %s pods in kube-system: %v", r.component, err)
		}
		if len(pods.Items) == 0 {
			unseen = append(unseen, r.component+" (no pod "+r.selector+" in kube-system)")
			continue
		}
		for _, p := range pods.Items {
			problem, ok := skewProblem(r, &p, server)
			switch {
			case !ok:
				unseen = append(unseen, problem)
			case problem != "":
				judged++
				problems = append(problems, problem)
			default:
				judged++
			}
		}
	}
	framework.Measure("control-plane and node components judged", float64(judged), "pods")
	if len(problems) > 0 {
		framework.Failf("component versions: want each within the skew policy of API server %s (kube-controller-manager and kube-scheduler at most 1 minor older, kube-proxy 3, none newer), got %s", serverVersion, strings.Join(problems, "; "))
	}
	if judged == 0 {
		ginkgo.Skip("not checked: no component's version could be read: " + strings.Join(unseen, "; ") + " (a managed control plane keeps its components out of view)")
	}
	if len(unseen) > 0 {
		framework.Warn("versions not read: %s", strings.Join(unseen, "; "))
	}
}

// skewProblem judges one pod of a component by its container image's
// tag: what is wrong, "" if nothing is; ok is false when the tag is not a
// version (a digest, a custom tag), and then problem says so.
func skewProblem(r skewRule, p *corev1.Pod, server *version.Version) (problem string, ok bool) {
	image := ""
	for _, c := range p.Spec.Containers {
		if c.Name == r.component || image == "" {
			image = c.Image
		}
	}
	tag := imageTag(image)
	v, err := version.ParseGeneric(tag)
	if err != nil {
		return fmt.Sprintf("%s: pod kube-system/%s image %q has no version tag", r.component, p.Name, image), false
	}
	where := fmt.Sprintf("%s %s (pod kube-system/%s, image %s)", r.component, tag, p.Name, image)
	switch {
	case v.Major() != server.Major() || v.Minor() > server.Minor():
		return where + " newer than the API server", true
	case v.Minor()+r.behind < server.Minor():
		return fmt.Sprintf("%s more than %d minor older than the API server", where, r.behind), true
	}
	return "", true
}

// imageTag is the tag of an image reference, "" without one: what
// follows the last colon after the last slash, before any digest.
func imageTag(image string) string {
	image, _, _ = strings.Cut(image, "@")
	name := image[strings.LastIndex(image, "/")+1:]
	_, tag, found := strings.Cut(name, ":")
	if !found {
		return ""
	}
	return tag
}
