package pods

import (
	"context"
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/kubeproof/kubeproof/fixtures/wire"
	"github.com/kubeproof/kubeproof/suites/framework"
)

// jobTimeout bounds the Job: two pods started at once, each a container
// start, one request and a stop.
const jobTimeout = framework.PodStartTimeout

const completions = 2

// jobWithSidecar runs a Job whose pods have a sidecar (a restartable init
// container serving HTTP, with a startup probe) and an app container that
// must get an answer from it on localhost: the Job must complete, each pod
// Succeeded with its sidecar stopped after the app container exited.
func jobWithSidecar(ctx context.Context, f *framework.Framework) {
	pod := framework.ServerPod(framework.Server{Name: "job"})
	sidecar := pod.Spec.Containers[0]
	sidecar.Name = "sidecar"
	sidecar.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
	sidecar.StartupProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromInt32(wire.HTTPPort)}},
		PeriodSeconds: 1, FailureThreshold: 30}
	app := helper(&sidecar, "app", "get", "--fail", "--timeout=2s", fmt.Sprintf("http://localhost:%d/hostname", wire.HTTPPort))
	app.TerminationMessagePolicy = corev1.TerminationMessageFallbackToLogsOnError
	pod.Spec.InitContainers = []corev1.Container{sidecar}
	pod.Spec.Containers = []corev1.Container{app}
	pod.Spec.RestartPolicy = corev1.RestartPolicyNever

	job := framework.Create(ctx, f, f.Client.BatchV1().Jobs(f.Namespace), &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "with-sidecar"},
		Spec: batchv1.JobSpec{
			Completions: ptr.To(int32(completions)), Parallelism: ptr.To(int32(completions)), BackoffLimit: ptr.To(int32(0)),
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: framework.RunLabels()}, Spec: pod.Spec},
		},
	})
	start := time.Now()
	jobs := framework.Follow(ctx, "Jobs of namespace "+f.Namespace, f.Client.BatchV1().Jobs(f.Namespace), metav1.ListOptions{},
		func(l *batchv1.JobList) []*batchv1.Job { return framework.Ptrs(l.Items) })
	pods := framework.WatchPods(ctx, f, batchv1.JobNameLabel+"="+job.Name)
	var end string
	at, err := jobs.Until(ctx, jobTimeout, func(time.Time) bool {
		end = finished(jobs.Get(job.Name))
		return end != ""
	})
	if end != string(batchv1.JobComplete) {
		why := ""
		if err != nil {
			why = fmt.Sprintf(" (%v)", err)
		} else {
			// The pods' last statuses may come after the Job's.
			_, _ = pods.Until(ctx, framework.ProgramTimeout, func(time.Time) bool { return ended(pods.Objects()) })
		}
		framework.Failf("Job %s/%s (%d completions, backoffLimit 0, pods with sidecar): want Complete within %s, got %s; pods: %s%s%s",
			f.Namespace, job.Name, completions, jobTimeout, orRunning(end), describeJobPods(pods.Objects()), why, framework.CutShort(ctx))
	}
	framework.Measure("Job complete", at.Sub(start).Seconds(), "s")
	// The pods' last statuses may come just after the Job's.
	var problems []string
	if _, err := pods.Until(ctx, framework.ProgramTimeout, func(time.Time) bool {
		problems = sidecarProblems(pods.Objects())
		return len(problems) == 0
	}); err != nil {
		framework.Failf("Job %s/%s complete: want each of its %d pods Succeeded, its sidecar started before the app container and stopped after it exited, got %s (%v)",
			f.Namespace, job.Name, completions, strings.Join(problems, "; "), err)
	}
}

// finished is the Job's Complete or Failed condition (with its reason),
// "" while it runs.
func finished(j *batchv1.Job) string {
	if j == nil {
		return "Job gone"
	}
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return string(c.Type)
		case batchv1.JobFailed:
			return fmt.Sprintf("Failed: %s %s", c.Reason, c.Message)
		}
	}
	return ""
}

// ended: every pod has reached Succeeded or Failed.
func ended(pods []*corev1.Pod) bool {
	for _, p := range pods {
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			return false
		}
	}
	return true
}

func orRunning(end string) string {
	if end == "" {
		return "still running"
	}
	return end
}

// sidecarProblems lists what is wrong with the Job's pods' record.
func sidecarProblems(pods []*corev1.Pod) []string {
	var out []string
	succeeded := 0
	for _, p := range pods {
		if p.Status.Phase != corev1.PodSucceeded {
			out = append(out, fmt.Sprintf("pod %s %s", p.Name, p.Status.Phase))
			continue
		}
		succeeded++
		if len(p.Status.InitContainerStatuses) == 0 || len(p.Status.ContainerStatuses) == 0 {
			out = append(out, fmt.Sprintf("pod %s: no container statuses", p.Name))
			continue
		}
		side, app := p.Status.InitContainerStatuses[0].State.Terminated, p.Status.ContainerStatuses[0].State.Terminated
		switch {
		case side == nil || app == nil:
			out = append(out, fmt.Sprintf("pod %s: sidecar %s, app %s", p.Name, state(p.Status.InitContainerStatuses[0]), state(p.Status.ContainerStatuses[0])))
		case app.StartedAt.Before(&side.StartedAt):
			out = append(out, fmt.Sprintf("pod %s: app started at %s, before its sidecar (%s)", p.Name, clock(app.StartedAt), clock(side.StartedAt)))
		case side.FinishedAt.Before(&app.FinishedAt):
			out = append(out, fmt.Sprintf("pod %s: sidecar stopped at %s, before the app exited (%s)", p.Name, clock(side.FinishedAt), clock(app.FinishedAt)))
		}
	}
	if succeeded < completions {
		out = append(out, fmt.Sprintf("%d of %d pods Succeeded", succeeded, completions))
	}
	return out
}

// describeJobPods names each pod and where its containers stand.
func describeJobPods(pods []*corev1.Pod) string {
	if len(pods) == 0 {
		return "none"
	}
	var parts []string
	for _, p := range pods {
		var cs []string
		for _, s := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
			c := s.Name + " " + state(s)
			if t := s.State.Terminated; t != nil && t.Message != "" {
				c += ": " + strings.Join(strings.Fields(t.Message), " ")
			}
			cs = append(cs, c)
		}
		parts = append(parts, fmt.Sprintf("%s %s (%s)", p.Name, p.Status.Phase, strings.Join(cs, ", ")))
	}
	return strings.Join(parts, "; ")
}

func clock(t metav1.Time) string { return t.UTC().Format("15:04:05") }

// retryJobs are the Jobs of the retry check: what each pod's container
// does, its restart policy and backoffLimit, and how it must end.
var retryJobs = []struct {
	name    string
	policy  corev1.RestartPolicy
	limit   int32
	failing bool // fails every time; else fails once and then succeeds
	want    string
}{
	// With OnFailure the controller fails a Job once its containers'
	// restarts reach backoffLimit (exceed it when the limit is 0): one
	// restart needs a limit of 2.
	{"fail-once", corev1.RestartPolicyOnFailure, 2, false, string(batchv1.JobComplete)},
	{"restarted", corev1.RestartPolicyOnFailure, 0, true, "Failed: " + batchv1.JobReasonBackoffLimitExceeded},
	{"never", corev1.RestartPolicyNever, 0, true, "Failed: " + batchv1.JobReasonBackoffLimitExceeded},
}

// jobsRetry runs the three retryJobs at once: a container that fails
// once is restarted in place (OnFailure) and its Job completes within
// backoffLimit 2; with backoffLimit 0 a failing container's restart
// (OnFailure) or its failed pod (Never) fails the Job, and Never makes no
// second pod.
func jobsRetry(ctx context.Context, f *framework.Framework) {
	base := framework.ServerPod(framework.Server{Name: "retry"})
	app := &base.Spec.Containers[0]
	app.VolumeMounts = append(app.VolumeMounts, corev1.VolumeMount{Name: "scratch", MountPath: "/scratch"})
	for _, j := range retryJobs {
		spec := *base.Spec.DeepCopy()
		// Refused on a port nothing listens on: exit 1 at once.
		c := helper(app, "app", "get", "--fail", "--timeout=1s", "http://localhost:1/")
		if !j.failing {
			c = helper(app, "app", "fail-once", "--dir=/scratch")
		}
		c.TerminationMessagePolicy = corev1.TerminationMessageFallbackToLogsOnError
		spec.Containers = []corev1.Container{c}
		spec.Volumes = []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		spec.RestartPolicy = j.policy
		framework.Create(ctx, f, f.Client.BatchV1().Jobs(f.Namespace), &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: j.name},
			Spec: batchv1.JobSpec{
				BackoffLimit: ptr.To(j.limit),
				Template:     corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: framework.RunLabels()}, Spec: spec},
			},
		})
	}
	start := time.Now()
	jobs := framework.Follow(ctx, "Jobs of namespace "+f.Namespace, f.Client.BatchV1().Jobs(f.Namespace), metav1.ListOptions{},
		func(l *batchv1.JobList) []*batchv1.Job { return framework.Ptrs(l.Items) })
	pods := framework.WatchPods(ctx, f, batchv1.JobNameLabel)
	ends := map[string]time.Time{}
	_, err := jobs.Until(ctx, jobTimeout, func(at time.Time) bool {
		for _, j := range retryJobs {
			if _, ok := ends[j.name]; !ok && finished(jobs.Get(j.name)) != "" {
				ends[j.name] = at
			}
		}
		return len(ends) == len(retryJobs)
	})
	for _, j := range retryJobs {
		end := finished(jobs.Get(j.name))
		if err != nil || !strings.HasPrefix(end, j.want) {
			// Its pods' last statuses may come after the Job's.
			_, _ = pods.Until(ctx, framework.ProgramTimeout, func(time.Time) bool { return ended(jobPods(pods, j.name)) })
			framework.Failf("Job %s/%s (restartPolicy %s, backoffLimit %d, container %s): want %s within %s, got %s; pods: %s%s",
				f.Namespace, j.name, j.policy, j.limit, does(j.failing), j.want, jobTimeout, orRunning(end), describeJobPods(jobPods(pods, j.name)), errSuffix(err))
		}
		framework.Measure(fmt.Sprintf("Job %s %s", j.name, strings.ToLower(strings.SplitN(j.want, ":", 2)[0])), ends[j.name].Sub(start).Seconds(), "s")
	}
	// The Jobs' pods as they ended (their last statuses may come just
	// after the Jobs'): the restart is the kubelet's, in place.
	restartedOnce := func() bool {
		mine := jobPods(pods, "fail-once")
		return len(mine) == 1 && mine[0].Status.Phase == corev1.PodSucceeded && restarts(mine[0]) == 1
	}
	if _, err := pods.Until(ctx, framework.ProgramTimeout, func(time.Time) bool { return restartedOnce() }); err != nil {
		framework.Failf("Job %s/fail-once complete (restartPolicy OnFailure): want one pod, Succeeded, whose container was restarted in place once, got %s (%v)", f.Namespace, describeJobPods(jobPods(pods, "fail-once")), err)
	}
	if never := jobPods(pods, "never"); len(never) != 1 {
		framework.Failf("Job %s/never failed (restartPolicy Never, backoffLimit 0): want its one pod and no second, got %d: %s", f.Namespace, len(never), describeJobPods(never))
	}
}

func does(failing bool) string {
	if failing {
		return "always fails"
	}
	return "fails once, then succeeds"
}

func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return fmt.Sprintf(" (%v)", err)
}

// jobPods are the pods of one Job, as last seen.
func jobPods(pods *framework.Tracker[*corev1.Pod], job string) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods.Objects() {
		if p.Labels[batchv1.JobNameLabel] == job {
			out = append(out, p)
		}
	}
	return out
}
