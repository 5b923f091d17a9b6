package runner

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/kubeproof/kubeproof/fixtures"
	"github.com/kubeproof/kubeproof/fixtures/meta"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/internal/proc"
	"github.com/kubeproof/kubeproof/reporters/results"
)

// The image start: before any check, the workload image is pulled and
// started once on every node that should run pods, so that a cluster
// where it cannot run ends the run in seconds with the image, the node and
// the cause, instead of every check waiting out its own pod start.
const (
	// schedulerGrace: a scheduler binds a pod within milliseconds; one
	// that has not acted on a pod in this long is not running.
	schedulerGrace = 10 * time.Second
	// imageStartTimeout bounds pulls that make progress (a large image on
	// a slow registry); a pull that fails ends the wait at once.
	imageStartTimeout = 2 * time.Minute
)

// startFailures are the container waiting reasons that end the image
// start at once: the kubelet would only retry them.
var startFailures = []string{
	"ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName",
	"CreateContainerConfigError", "CreateContainerError", "RunContainerError", "CrashLoopBackOff",
}

// imageStart runs the workload image in one pod on every Ready node meant
// for pods (scheduled by the cluster's scheduler, through node affinity)
// and waits until each container runs. Nodes that are not Ready are left
// to the checks, which fail naming them. The pods' namespace is deleted
// afterwards without waiting: the sweep confirms nothing of it runs.
func imageStart(ctx context.Context, c *kube.Client, o Options, out io.Writer) (*results.ImageStart, error) {
	start := time.Now()
	nodes, err := podNodes(ctx, c)
	if err != nil {
		return nil, err
	}
	labelSet := meta.RunLabels(o.RunID)
	labelSet[meta.LabelSpec] = "image-start"
	ns, err := c.CreateNamespace(ctx, "kubeproof-image-start", meta.Restricted(maps.Clone(labelSet)), map[string]string{meta.AnnotationOwner: proc.Owner(os.Getpid())})
	if err != nil {
		return nil, fmt.Errorf("workload image start: %v", err)
	}
	defer deleteNow(context.WithoutCancel(ctx), c, ns)
	var pullSecret string
	if o.ImagePullSecret != "" {
		if err := kube.CopyPullSecret(ctx, c, o.ImagePullSecret, ns, meta.RunLabels(o.RunID)); err != nil {
			return nil, fmt.Errorf("workload image start: %v", err)
		}
		pullSecret = kube.PullSecretName
	}

	// The pods' status says why one cannot start; the kubelet's Started
	// event says a container runs as soon as it does, before the status
	// (which waits for the kubelet's next relist, up to a second).
	factory := informers.NewSharedInformerFactoryWithOptions(c, 0, informers.WithNamespace(ns))
	informer, events := factory.Core().V1().Pods(), factory.Core().V1().Events()
	changed := make(chan struct{}, 1)
	notify := func(any) {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	for _, i := range []cache.SharedIndexInformer{informer.Informer(), events.Informer()} {
		if _, err := i.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: notify, UpdateFunc: func(_, o any) { notify(o) }, DeleteFunc: notify,
		}); err != nil {
			return nil, err
		}
	}
	watchCtx, stop := context.WithCancel(ctx)
	defer stop()
	factory.Start(watchCtx.Done())

	podNode := map[string]string{}
	for i, n := range nodes {
		pod := imageStartPod(fmt.Sprintf("start-%d", i), n, o.WorkloadImage, pullSecret, labelSet)
		if _, err := c.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("workload image %s: the cluster refused pod %s/%s for node %s: %v", o.WorkloadImage, ns, pod.Name, n, flat(err.Error()))
		}
		podNode[pod.Name] = n
	}
	cache.WaitForCacheSync(watchCtx.Done(), informer.Informer().HasSynced, events.Informer().HasSynced)

	deadline := time.NewTimer(imageStartTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		pods, _ := informer.Lister().List(labels.Everything())
		evs, _ := events.Lister().List(labels.Everything())
		verdict, failure := judgeImageStart(pods, startedPods(evs), podNode, time.Since(start))
		if failure != "" {
			return nil, fmt.Errorf("workload image %s %s", o.WorkloadImage, failure)
		}
		if verdict {
			took := time.Since(start)
			fmt.Fprintf(out, "workload image started on %d nodes in %.1fs\n", len(nodes), took.Seconds())
			return &results.ImageStart{Seconds: took.Seconds(), Nodes: nodes}, nil
		}
		select {
		case <-changed:
		case <-tick.C:
		case <-deadline.C:
			return nil, fmt.Errorf("workload image %s: want it running on %d nodes within %s, got %s", o.WorkloadImage, len(nodes), imageStartTimeout, notRunning(pods, podNode))
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// judgeImageStart: done when every pod's container runs (started: the
// kubelet said so in an event); failure is one line naming the first pod
// that cannot start, its node and the cause.
func judgeImageStart(pods []*corev1.Pod, started map[string]bool, podNode map[string]string, since time.Duration) (done bool, failure string) {
	running := 0
	for _, p := range pods {
		node := podNode[p.Name]
		if why := startFailure(p, since); why != "" {
			return false, fmt.Sprintf("cannot start on node %s: %s (pod %s/%s)", node, why, p.Namespace, p.Name)
		}
		if started[p.Name] || containerRunning(p) {
			running++
		}
	}
	return running == len(podNode), ""
}

// startedPods names the pods whose container the kubelet reported started.
func startedPods(events []*corev1.Event) map[string]bool {
	started := map[string]bool{}
	for _, e := range events {
		if e.InvolvedObject.Kind == "Pod" && e.Reason == "Started" {
			started[e.InvolvedObject.Name] = true
		}
	}
	return started
}

// startFailure says why the pod will not start, "" while it may.
func startFailure(p *corev1.Pod, since time.Duration) string {
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && slices.Contains(startFailures, w.Reason) {
			return flat(w.Reason + ": " + w.Message)
		}
		if t := cs.State.Terminated; t != nil {
			return flat(fmt.Sprintf("the container exited: %s (exit %d) %s", t.Reason, t.ExitCode, t.Message))
		}
	}
	for _, c := range p.Status.Conditions {
		// A bound pod is scheduled, whatever a scheduler that lost the
		// race to bind it wrote in its condition afterwards.
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && p.Spec.NodeName == "" {
			return flat(fmt.Sprintf("not scheduled: %s %s", c.Reason, c.Message))
		}
	}
	if p.Spec.NodeName == "" && since > schedulerGrace {
		return fmt.Sprintf("not scheduled: no scheduler has acted on it within %s (is kube-scheduler running?)", schedulerGrace)
	}
	return ""
}

func containerRunning(p *corev1.Pod) bool {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running != nil {
			return true
		}
	}
	return false
}

// notRunning lists the pods whose container does not run yet, with where
// each stands.
func notRunning(pods []*corev1.Pod, podNode map[string]string) string {
	var parts []string
	seen := map[string]bool{}
	for _, p := range pods {
		seen[p.Name] = true
		if !containerRunning(p) {
			parts = append(parts, fmt.Sprintf("node %s (pod %s/%s): %s", podNode[p.Name], p.Namespace, p.Name, kube.PodProblem(p)))
		}
	}
	for name, node := range podNode {
		if !seen[name] {
			parts = append(parts, fmt.Sprintf("node %s (pod %s): not seen", node, name))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}

// podNodes are the nodes the image must start on: Ready nodes meant for
// pods, by name. A node meant for pods that is not Ready is left to the
// checks; none Ready at all means no check could run.
func podNodes(ctx context.Context, c *kube.Client) ([]string, error) {
	list, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("workload image start: list nodes: %v", err)
	}
	var ready, other []string
	for _, n := range list.Items {
		switch {
		case !kube.MeantForPods(&n):
		case kube.NodeReady(&n) && kube.ConditionTaint(&n) == "":
			ready = append(ready, n.Name)
		default:
			other = append(other, n.Name)
		}
	}
	if len(ready) == 0 {
		return nil, fmt.Errorf("no node can run ordinary pods: want a Ready, uncordoned node without a NoSchedule taint, got %d nodes (not Ready or tainted: %s)", len(list.Items), strings.Join(other, ", "))
	}
	return ready, nil
}

// imageStartPod runs the workload image on one node, placed there by the
// scheduler (node affinity, not spec.nodeName), so that a scheduler that
// is missing shows.
func imageStartPod(name, node, image, pullSecret string, labels map[string]string) *corev1.Pod {
	pod := fixtures.ServerPod(fixtures.ServerOptions{Name: name, Image: image, Labels: labels, PullSecret: pullSecret, NoReadinessProbe: true})
	pod.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{node}}},
		}}},
	}}
	pod.Spec.RestartPolicy = corev1.RestartPolicyNever
	return pod
}

// deleteNow deletes the namespace's pods at once (grace 0), so that the
// namespace controller finds none to wait for, then the namespace.
func deleteNow(ctx context.Context, c *kube.Client, ns string) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_ = kube.DeleteNamespaceNow(ctx, c, ns)
}

func flat(s string) string { return strings.Join(strings.Fields(s), " ") }
