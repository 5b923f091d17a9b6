package pods

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeproof/kubeproof/fixtures/wire"
	"github.com/kubeproof/kubeproof/suites/framework"
)

// sharedDir is where the emptyDir volume of the containers check is
// mounted in every container.
const sharedDir = "/shared"

// neighbourPort is the HTTP port of the second app container, clear of
// the first's.
const neighbourPort = 9080

// containersShare runs a pod with two init containers and two app
// containers on one emptyDir: each init container leaves a marker naming
// the markers it found, the second app container reaches the first on
// localhost and leaves its own marker, which the first then lists.
func containersShare(ctx context.Context, f *framework.Framework) {
	pod := framework.ServerPod(framework.Server{Name: "shared"})
	pod.Spec.Volumes = []corev1.Volume{{Name: "shared", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	mount := corev1.VolumeMount{Name: "shared", MountPath: sharedDir}
	app := &pod.Spec.Containers[0]
	app.VolumeMounts = append(app.VolumeMounts, mount)
	for _, name := range []string{"init-1", "init-2"} {
		pod.Spec.InitContainers = append(pod.Spec.InitContainers, helper(app, name, "mark", "--dir="+sharedDir, "--name="+name))
	}
	neighbour := helper(app, "neighbour", "serve", fmt.Sprintf("--http-port=%d", neighbourPort), "--udp-port=0", "--tcp-port=0")
	pod.Spec.Containers = append(pod.Spec.Containers, neighbour)
	framework.Create(ctx, f, f.Pods(), pod)
	p := f.WaitPodReady(ctx, pod.Name)
	where := fmt.Sprintf("pod %s/%s (node %s)", f.Namespace, p.Name, p.Spec.NodeName)

	if problem := initOrder(p); problem != "" {
		framework.Failf("%s: want init containers init-1 then init-2 completed before the app containers started, got %s", where, problem)
	}
	files := fmt.Sprintf("http://localhost:%d/files?dir=%s", wire.HTTPPort, sharedDir)
	seen := get(ctx, f, p, "neighbour", files)
	// Any HTTP answer, even an error, came from the other container.
	if seen.Status == 0 {
		framework.Failf("%s: want container neighbour to reach container %s's server on localhost:%d (one network namespace), got %s", where, app.Name, wire.HTTPPort, seen)
	}
	const inits = "init-1: saw \ninit-2: saw init-1\n"
	if !seen.OK || seen.Body != inits {
		framework.Failf("%s: want container %s to list in emptyDir %s init-1's marker (it saw nothing) and init-2's (it saw init-1's), got %s %q", where, app.Name, sharedDir, seen, seen.Body)
	}
	if _, err := f.Client.Exec(ctx, f.Namespace, p.Name, "neighbour", "/workload", "mark", "--dir="+sharedDir, "--name=neighbour"); err != nil {
		framework.Failf("%s: container neighbour writes to emptyDir %s: %v", where, sharedDir, err)
	}
	if after := get(ctx, f, p, "neighbour", files); after.Body != inits+"neighbour: saw init-1,init-2\n" {
		framework.Failf("%s: want container %s to list the marker container neighbour wrote in emptyDir %s, got %s %q", where, app.Name, sharedDir, after, after.Body)
	}
}

// helper is a container of the workload image with app's security
// context, resources and mounts, running the workload in mode with args.
func helper(app *corev1.Container, name, mode string, args ...string) corev1.Container {
	c := corev1.Container{
		Name: name, Image: app.Image, ImagePullPolicy: app.ImagePullPolicy,
		Args:            append([]string{mode}, args...),
		SecurityContext: app.SecurityContext.DeepCopy(),
		Resources:       *app.Resources.DeepCopy(),
	}
	for _, m := range app.VolumeMounts {
		c.VolumeMounts = append(c.VolumeMounts, m)
	}
	return c
}

// initOrder says what is wrong with the pod's init containers' record,
// "" when each completed (exit 0), in order, before every app container
// started (the statuses' times are to the second: equal is in order).
func initOrder(p *corev1.Pod) string {
	var last *corev1.ContainerStateTerminated
	for _, s := range p.Status.InitContainerStatuses {
		t := s.State.Terminated
		if t == nil || t.ExitCode != 0 {
			return fmt.Sprintf("init container %s %s", s.Name, state(s))
		}
		if last != nil && t.StartedAt.Before(&last.FinishedAt) {
			return fmt.Sprintf("init container %s started at %s, before the one before it finished (%s)", s.Name, t.StartedAt.UTC().Format("15:04:05"), last.FinishedAt.UTC().Format("15:04:05"))
		}
		last = t
	}
	if last == nil {
		return "no init container status"
	}
	for _, s := range p.Status.ContainerStatuses {
		if r := s.State.Running; r != nil && r.StartedAt.Before(&last.FinishedAt) {
			return fmt.Sprintf("app container %s started at %s, before the last init container finished (%s)", s.Name, r.StartedAt.UTC().Format("15:04:05"), last.FinishedAt.UTC().Format("15:04:05"))
		}
	}
	return ""
}

// get sends one HTTP request from a container of a pod.
func get(ctx context.Context, f *framework.Framework, p *corev1.Pod, container, url string) wire.Result {
	out, err := f.Client.Exec(ctx, p.Namespace, p.Name, container, "/workload", "get", "--timeout="+framework.RequestTimeout.String(), url)
	if err != nil {
		return wire.Result{Error: fmt.Sprintf("exec in container %s: %s", container, strings.ReplaceAll(err.Error(), "\n", " "))}
	}
	var r wire.Result
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &r); err != nil {
		return wire.Result{Error: fmt.Sprintf("output %q is not JSON", out)}
	}
	return r
}

// state says where a container stands: "running", "waiting: <reason>",
// "terminated: <reason> (exit N)".
func state(s corev1.ContainerStatus) string {
	switch {
	case s.State.Running != nil:
		return fmt.Sprintf("running (restarts %d)", s.RestartCount)
	case s.State.Waiting != nil:
		return fmt.Sprintf("waiting: %s %s", s.State.Waiting.Reason, s.State.Waiting.Message)
	case s.State.Terminated != nil:
		return fmt.Sprintf("terminated: %s (exit %d)", s.State.Terminated.Reason, s.State.Terminated.ExitCode)
	}
	return "not started"
}
