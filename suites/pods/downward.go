package pods

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubeproof/kubeproof/fixtures/wire"
	"github.com/kubeproof/kubeproof/suites/framework"
)

// downwardDir is where the downward API volume is mounted.
const downwardDir = "/podinfo"

// memoryLimit is the limit the downward check's container declares (the
// workload needs a few MiB).
const memoryLimit = "64Mi"

// downward is one value the downward API passes as an environment
// variable: the variable, the pod's field, and how to read the truth from
// the pod the API returns.
type downward struct {
	env   string
	field string
	src   corev1.EnvVarSource
	want  func(p *corev1.Pod) string
}

var downwardEnv = []downward{
	{"DOWNWARD_NAME", "metadata.name", fieldRef("metadata.name"), func(p *corev1.Pod) string { return p.Name }},
	{"DOWNWARD_NAMESPACE", "metadata.namespace", fieldRef("metadata.namespace"), func(p *corev1.Pod) string { return p.Namespace }},
	{"DOWNWARD_NODE", "spec.nodeName", fieldRef("spec.nodeName"), func(p *corev1.Pod) string { return p.Spec.NodeName }},
	{"DOWNWARD_POD_IP", "status.podIP", fieldRef("status.podIP"), func(p *corev1.Pod) string { return p.Status.PodIP }},
	{"DOWNWARD_SERVICE_ACCOUNT", "spec.serviceAccountName", fieldRef("spec.serviceAccountName"), func(p *corev1.Pod) string { return p.Spec.ServiceAccountName }},
	{"DOWNWARD_CPU_REQUEST_MILLI", "requests.cpu (divisor 1m)", corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "requests.cpu", Divisor: resource.MustParse("1m")}},
		func(p *corev1.Pod) string {
			return fmt.Sprint(p.Spec.Containers[0].Resources.Requests.Cpu().MilliValue())
		}},
	{"DOWNWARD_MEMORY_LIMIT_MI", "limits.memory (divisor 1Mi)", corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}},
		func(p *corev1.Pod) string {
			return fmt.Sprint(p.Spec.Containers[0].Resources.Limits.Memory().Value() >> 20)
		}},
}

func fieldRef(path string) corev1.EnvVarSource {
	return corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}
}

// downwardReaches runs a pod that gets its own name, namespace, node, IP,
// ServiceAccount and resources as environment variables and its labels
// and annotations as downward API files: each value must be the one the
// API holds for the pod.
func downwardReaches(ctx context.Context, f *framework.Framework) {
	pod := framework.ServerPod(framework.Server{Name: "downward", Labels: map[string]string{"tier": "checked"}})
	pod.Annotations = map[string]string{"kubeproof.io/note": "from-the-api"}
	c := &pod.Spec.Containers[0]
	c.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(memoryLimit)}
	for _, d := range downwardEnv {
		c.Env = append(c.Env, corev1.EnvVar{Name: d.env, ValueFrom: d.src.DeepCopy()})
	}
	pod.Spec.Volumes = []corev1.Volume{{Name: "podinfo", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
		{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
		{Path: "annotations", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations"}},
	}}}}}
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "podinfo", MountPath: downwardDir, ReadOnly: true})
	framework.Create(ctx, f, f.Pods(), pod)
	p := f.WaitPodReady(ctx, pod.Name)

	env := get(ctx, f, p, "workload", fmt.Sprintf("http://localhost:%d/environ?prefix=DOWNWARD_", wire.HTTPPort))
	files := get(ctx, f, p, "workload", fmt.Sprintf("http://localhost:%d/files?dir=%s", wire.HTTPPort, downwardDir))
	if !env.OK || !files.OK {
		framework.Failf("pod %s/%s (node %s): want its environment and %s read from inside it, got %s and %s", f.Namespace, p.Name, p.Spec.NodeName, downwardDir, env, files)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(env.Body), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			got[k] = v
		}
	}
	var wrong []string
	for _, d := range downwardEnv {
		if want := d.want(p); got[d.env] != want {
			wrong = append(wrong, fmt.Sprintf("%s (env %s): want %q, got %q", d.field, d.env, want, got[d.env]))
		}
	}
	// Files hold one key="value" line each, sorted by key.
	for file, kv := range map[string]map[string]string{"labels": p.Labels, "annotations": p.Annotations} {
		for k, v := range kv {
			if line := fmt.Sprintf("%s=%q", k, v); !strings.Contains(files.Body, line) {
				wrong = append(wrong, fmt.Sprintf("metadata.%s (file %s/%s): want a line %s, got %q", file, downwardDir, file, line, section(files.Body, file)))
			}
		}
	}
	if len(wrong) > 0 {
		framework.Failf("pod %s/%s (node %s): want the downward API to give each value the API holds for the pod, got %s", f.Namespace, p.Name, p.Spec.NodeName, strings.Join(wrong, "; "))
	}
}

// section is what /files listed for one file: from "name: " to the next
// file's line.
func section(body, name string) string {
	_, rest, ok := strings.Cut(body, name+": ")
	if !ok {
		return ""
	}
	if i := strings.Index(rest, "\n"+otherFile(name)+": "); i >= 0 {
		return rest[:i]
	}
	return strings.TrimSpace(rest)
}

func otherFile(name string) string {
	if name == "labels" {
		return "annotations"
	}
	return "labels"
}
