// Package kubeletfreeze stops a node's kubelet on any cluster, kind or
// not, from a privileged pod in the host's PID namespace. The pod resumes
// the kubelet itself after a fixed time, so the fault ends even if
// kubeproof is killed; it is opt-in because it needs a privileged pod.
package kubeletfreeze

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubeproof/kubeproof/chaos"
	"github.com/kubeproof/kubeproof/fixtures/meta"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/internal/proc"
)

// legacyNamespace held the freezing pods of every run before each run got
// its own; journal entries without a namespace name it.
const legacyNamespace = "kubeproof-chaos"

// Freeze stops the kubelet of Node for For.
type Freeze struct {
	Client kubernetes.Interface
	Node   string
	// Image is kubeproof's workload image, present or pullable on the node;
	// PullSecret ([NAMESPACE/]NAME) is copied into the pod's namespace for it.
	Image      string
	PullSecret string
	For        time.Duration
	// Pod names the freezing pod; Deadline is when it resumes the kubelet
	// at the latest (pod start bound included).
	Pod      string
	Deadline time.Time
	// Namespace holds the pod: the run's own, kubeproof-chaos-<run ID>,
	// which allows privileged pods and carries the run's labels and
	// Owner ("host/pid") so that cleanup leaves it alone while Owner lives.
	Namespace    string
	RunID, Owner string
}

// startBound bounds the freezing pod's start.
const startBound = 2 * time.Minute

// freezeDelay lets the kubelet report the pod Running before the pod
// freezes it: the report is how Inject knows the fault began.
const freezeDelay = 3 * time.Second

func (f *Freeze) Describe() string {
	return fmt.Sprintf("stop the kubelet on node %s for %s (SIGSTOP from privileged hostPID pod %s/%s, which sends SIGCONT itself at the end); revert: wait until it has, then delete the pod", f.Node, f.For, f.namespace(), f.Pod)
}

// Plan names the pod and fixes the deadline; call it before journalling.
func (f *Freeze) Plan() {
	f.Pod = "freeze-kubelet-" + f.Node
	if len(f.Pod) > 63 {
		f.Pod = f.Pod[:63]
	}
	f.Deadline = time.Now().Add(startBound + f.For)
	f.Namespace = namespaceFor(f.RunID)
}

// namespaceFor is a run's freezing namespace: a DNS label from the run ID.
func namespaceFor(runID string) string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r - 'A' + 'a'
		}
		return '-'
	}, runID)
	name = legacyNamespace + "-" + name
	if len(name) > 63 {
		name = name[:63]
	}
	return strings.TrimRight(name, "-")
}

func (f *Freeze) namespace() string {
	if f.Namespace == "" {
		return legacyNamespace
	}
	return f.Namespace
}

func (f *Freeze) Inject(ctx context.Context) error {
	owner := f.Owner
	if owner == "" {
		owner = proc.Owner(os.Getpid())
	}
	labels := meta.RunLabels(f.RunID)
	labels["pod-security.kubernetes.io/enforce"] = "privileged"
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: f.namespace(), Labels: labels, Annotations: map[string]string{meta.AnnotationOwner: owner}}}
	if _, err := f.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("cannot stop the kubelet on %s because namespace %s cannot be created: %w", f.Node, f.namespace(), err)
	}
	if err := kube.WaitDefaultServiceAccount(ctx, f.Client, f.namespace()); err != nil {
		return fmt.Errorf("cannot stop the kubelet on %s: %w", f.Node, err)
	}
	var pullSecrets []corev1.LocalObjectReference
	if f.PullSecret != "" {
		if err := kube.CopyPullSecret(ctx, f.Client, f.PullSecret, f.namespace(), meta.RunLabels(f.RunID)); err != nil {
			return fmt.Errorf("cannot stop the kubelet on %s: %w", f.Node, err)
		}
		pullSecrets = []corev1.LocalObjectReference{{Name: kube.PullSecretName}}
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: f.Pod, Labels: meta.RunLabels(f.RunID)},
		Spec: corev1.PodSpec{
			NodeName:      f.Node,
			HostPID:       true,
			RestartPolicy: corev1.RestartPolicyNever,
			// This pod alone resumes the kubelet: it must be the last thing
			// the node evicts or OOM-kills (Guaranteed QoS, node-critical).
			PriorityClassName: "system-node-critical",
			Tolerations:       []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			ImagePullSecrets:  pullSecrets,
			Containers: []corev1.Container{{
				Name: "freeze", Image: f.Image, ImagePullPolicy: corev1.PullIfNotPresent,
				Args:            []string{"freeze", "--process", "kubelet", "--after", freezeDelay.String(), "--for", f.For.String()},
				SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true), RunAsUser: ptr.To(int64(0))},
				Resources:       corev1.ResourceRequirements{Requests: guaranteed, Limits: guaranteed},
			}},
		},
	}
	_, err := f.Client.CoreV1().Pods(f.namespace()).Create(ctx, pod, metav1.CreateOptions{})
	if apierrors.IsForbidden(err) {
		return fmt.Errorf("cannot stop the kubelet on %s because the cluster's policy forbids privileged hostPID pods: %w", f.Node, err)
	}
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	var started time.Time
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, startBound, true, func(ctx context.Context) (bool, error) {
		p, err := f.Client.CoreV1().Pods(f.namespace()).Get(ctx, f.Pod, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		if p.Status.Phase == corev1.PodFailed {
			return false, fmt.Errorf("freezing pod %s/%s failed on %s", f.namespace(), f.Pod, f.Node)
		}
		for _, cs := range p.Status.ContainerStatuses {
			if cs.State.Running != nil {
				started = cs.State.Running.StartedAt.Time
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("freezing pod %s/%s did not start on %s within %s: %w", f.namespace(), f.Pod, f.Node, startBound, err)
	}
	// Return when the freeze begins: the pod stops the kubelet freezeDelay
	// after its start, a known moment rather than a state to poll for.
	time.Sleep(time.Until(started.Add(freezeDelay)))
	return nil
}

// guaranteed is the freezing pod's requests and limits, equal: the
// Guaranteed QoS class. The program sleeps and sends two signals.
var guaranteed = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi")}

// resumeBound is how long the node may take to be Ready once the pod has
// resumed the kubelet.
const resumeBound = 2 * time.Minute

// Revert waits for the pod to have resumed the kubelet (the pod ends, or
// its deadline passes), deletes it, and succeeds only once the node is
// Ready again: until then the journal entry stays, so the fault is not
// forgotten while the kubelet may still be stopped.
func (f *Freeze) Revert(ctx context.Context) error {
	_ = wait.PollUntilContextTimeout(ctx, time.Second, time.Until(f.Deadline)+time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := f.Client.CoreV1().Pods(f.namespace()).Get(ctx, f.Pod, metav1.GetOptions{})
		return apierrors.IsNotFound(err) || (err == nil && (p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed)) || time.Now().After(f.Deadline), nil
	})
	err := f.Client.CoreV1().Pods(f.namespace()).Delete(ctx, f.Pod, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	// The namespace goes with its last freezing pod: nothing stays behind.
	pods, err := f.Client.CoreV1().Pods(f.namespace()).List(ctx, metav1.ListOptions{})
	if err == nil && len(pods.Items) == 0 {
		err = f.Client.CoreV1().Namespaces().Delete(ctx, f.namespace(), metav1.DeleteOptions{})
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	var last string
	err = wait.PollUntilContextTimeout(ctx, time.Second, resumeBound, true, func(ctx context.Context) (bool, error) {
		n, err := f.Client.CoreV1().Nodes().Get(ctx, f.Node, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		last = "not Ready"
		return kube.NodeReady(n), nil
	})
	if err != nil {
		return fmt.Errorf("node %s: want Ready within %s of its kubelet's resume, got %s: the kubelet may still be stopped (on the node: kill -CONT $(pidof kubelet))", f.Node, resumeBound, last)
	}
	return nil
}

func (f *Freeze) Spec() chaos.Spec {
	return chaos.Spec{Kind: chaos.KubeletFreeze, Node: f.Node, Params: map[string]string{
		"pod": f.Pod, "namespace": f.namespace(), "image": f.Image, "for": f.For.String(), "deadline": f.Deadline.UTC().Format(time.RFC3339),
	}}
}
