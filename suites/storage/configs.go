package storage

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeproof/kubeproof/fixtures/wire"
	"github.com/kubeproof/kubeproof/suites/framework"
)

const (
	// configKey is the one key of the ConfigMap and the Secret.
	configKey = "value"
	// The mounts of pod "reader": the ConfigMap and the Secret as volumes,
	// and the ConfigMap's key again through a subPath.
	configDir, secretDir, pinnedDir = "/config", "/secret", "/pinned"
	// propagationBound is the ceiling for one update to reach the mounted
	// files: the kubelet rewrites them when it next syncs the pod, every
	// syncFrequency (1m by default) plus up to half of it as jitter, and
	// its Watch cache has the update at once; 30s more for a busy node.
	propagationBound = 2 * time.Minute
	// settle is how long after the pod is Ready the update comes: the
	// syncs of its start are over by then.
	settle = 5 * time.Second
	// filePoll is how often the files are read while waiting: the
	// measurement's resolution.
	filePoll = 500 * time.Millisecond
)

// configsPropagate mounts a ConfigMap and a Secret in pod "reader", and
// the ConfigMap's key once more through a subPath; once the pod's start
// is over, updates both at once and reads the files from inside the pod
// until the update is there: within propagationBound (measured, each;
// with the start's syncs over, about one sync period of the kubelet's:
// close to the longest an update takes on this cluster). The subPath
// file must keep what it had when the container started.
func configsPropagate(ctx context.Context, f *framework.Framework) {
	labels := framework.RunLabels()
	cm := framework.Create(ctx, f, f.Client.CoreV1().ConfigMaps(f.Namespace), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "settings", Labels: labels}, Data: map[string]string{configKey: "v1"}})
	secret := framework.Create(ctx, f, f.Client.CoreV1().Secrets(f.Namespace), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "credentials", Labels: labels}, StringData: map[string]string{configKey: "v1"}})

	pod := framework.ServerPod(framework.Server{Name: "reader"})
	pod.Spec.Volumes = append(pod.Spec.Volumes,
		corev1.Volume{Name: "settings", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: cm.Name}}}},
		corev1.Volume{Name: "credentials", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret.Name}}})
	c := &pod.Spec.Containers[0]
	c.VolumeMounts = append(c.VolumeMounts,
		corev1.VolumeMount{Name: "settings", MountPath: configDir, ReadOnly: true},
		corev1.VolumeMount{Name: "credentials", MountPath: secretDir, ReadOnly: true},
		corev1.VolumeMount{Name: "settings", MountPath: pinnedDir + "/" + configKey, SubPath: configKey, ReadOnly: true})
	framework.Create(ctx, f, f.Pods(), pod)
	p := f.WaitPodReady(ctx, pod.Name)
	where := fmt.Sprintf("pod %s/%s (node %s)", f.Namespace, p.Name, p.Spec.NodeName)

	mounts := []string{configDir, secretDir, pinnedDir}
	if got := readValues(ctx, f, p, mounts); !allAre(got, mounts, "v1") {
		framework.Failf("%s: want %s of ConfigMap %s and Secret %s (and through subPath %s/%s) to read \"v1\" once it is Ready, got %s",
			where, configKey, cm.Name, secret.Name, pinnedDir, configKey, describeValues(got, mounts))
	}

	// The kubelet syncs a pod several times as it starts, on events; after
	// that only every sync period. An update made meanwhile would ride on
	// one of those syncs: the update waits until the start is well over.
	time.Sleep(settle)
	updated := time.Now()
	cm.Data[configKey] = "v2"
	storedCM, err := f.Client.CoreV1().ConfigMaps(f.Namespace).Update(ctx, cm, metav1.UpdateOptions{})
	if err != nil {
		framework.Failf("update ConfigMap %s/%s: %v", f.Namespace, cm.Name, err)
	}
	secret.StringData = map[string]string{configKey: "v2"}
	storedSecret, err := f.Client.CoreV1().Secrets(f.Namespace).Update(ctx, secret, metav1.UpdateOptions{})
	if err != nil {
		framework.Failf("update Secret %s/%s: %v", f.Namespace, secret.Name, err)
	}
	// What the API stored: an update the files never show may never have
	// been stored as sent (a mutating webhook).
	stored := fmt.Sprintf("the API stored ConfigMap %s %q, Secret %s %q", cm.Name, storedCM.Data[configKey], secret.Name, storedSecret.Data[configKey])
	seen := map[string]time.Duration{}
	var got map[string]string
	reached := framework.Poll(ctx, propagationBound, filePoll, func(ctx context.Context) bool {
		got = readValues(ctx, f, p, mounts)
		for _, dir := range []string{configDir, secretDir} {
			if _, ok := seen[dir]; !ok && got[dir] == "v2" {
				seen[dir] = time.Since(updated)
			}
		}
		return len(seen) == 2
	})
	if !reached {
		framework.Failf("%s: want ConfigMap %s and Secret %s, both updated from \"v1\" to \"v2\", to read \"v2\" in their volumes %s and %s within %s (the kubelet's default sync period of 1m, its jitter and 30s), got %s (%s)%s",
			where, cm.Name, secret.Name, configDir, secretDir, propagationBound, describeValues(got, mounts), stored, framework.CutShort(ctx))
	}
	framework.Measure("ConfigMap update to its mounted file", seen[configDir].Seconds(), "s")
	framework.Measure("Secret update to its mounted file", seen[secretDir].Seconds(), "s")
	if got[pinnedDir] != "v1" {
		framework.Failf("%s: want the ConfigMap's %s mounted through subPath at %s/%s to keep \"v1\" after the update reached %s (a subPath mount does not update), got %s",
			where, configKey, pinnedDir, configKey, configDir, describeValues(got, mounts))
	}
}

// readValues reads the key's file in each directory from inside the pod
// (the workload's /files); a directory it cannot read reads as the error.
func readValues(ctx context.Context, f *framework.Framework, p *corev1.Pod, dirs []string) map[string]string {
	out := map[string]string{}
	for _, dir := range dirs {
		r := f.HTTPGet(ctx, p, fmt.Sprintf("http://localhost:%d/files?dir=%s", wire.HTTPPort, dir), framework.RequestTimeout)
		if !r.OK {
			out[dir] = "unread: " + r.String()
			continue
		}
		value := "no file " + configKey
		for _, line := range strings.Split(r.Body, "\n") {
			if v, ok := strings.CutPrefix(line, configKey+": "); ok {
				value = v
			}
		}
		out[dir] = value
	}
	return out
}

func allAre(got map[string]string, dirs []string, want string) bool {
	for _, d := range dirs {
		if got[d] != want {
			return false
		}
	}
	return true
}

func describeValues(got map[string]string, dirs []string) string {
	var parts []string
	for _, d := range dirs {
		parts = append(parts, fmt.Sprintf("%s/%s %q", d, configKey, got[d]))
	}
	return strings.Join(parts, ", ")
}
