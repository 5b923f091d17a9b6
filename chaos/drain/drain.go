// Package drain cordons a node and evicts its pods through the Eviction
// API, so PodDisruptionBudgets are respected: an API-level fault that works
// on managed clusters as well as on kind.
package drain

import (
	"context"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeproof/kubeproof/chaos"
)

// Drain cordons Node and evicts its pods, DaemonSet and static pods aside.
type Drain struct {
	Client kubernetes.Interface
	Node   string
	// WasCordoned is true when the node was already cordoned before the
	// fault: revert then leaves it cordoned, as someone else wanted it.
	WasCordoned bool
	// Timeout bounds the evictions; a PDB that never allows one fails the
	// drain with the pods it protects.
	Timeout time.Duration
}

func (d *Drain) Describe() string {
	return fmt.Sprintf("cordon node %s and evict its pods through the Eviction API (PodDisruptionBudgets respected, DaemonSet and static pods left); revert: uncordon", d.Node)
}

// Plan records whether the node is already cordoned; call it before the
// journal entry is written.
func (d *Drain) Plan(ctx context.Context) error {
	n, err := d.Client.CoreV1().Nodes().Get(ctx, d.Node, metav1.GetOptions{})
	if err != nil {
		return err
	}
	d.WasCordoned = n.Spec.Unschedulable
	return nil
}

func (d *Drain) Inject(ctx context.Context) error {
	if err := d.setUnschedulable(ctx, true); err != nil {
		return err
	}
	timeout := d.Timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	var blocked []string
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		pods, err := d.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.nodeName", d.Node).String()})
		if err != nil {
			return false, nil
		}
		blocked = blocked[:0]
		remaining := 0
		for _, p := range pods.Items {
			if !evictable(&p) || p.DeletionTimestamp != nil {
				continue
			}
			remaining++
			ev := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace}}
			err := d.Client.PolicyV1().Evictions(p.Namespace).Evict(ctx, ev)
			if apierrors.IsTooManyRequests(err) {
				blocked = append(blocked, p.Namespace+"/"+p.Name)
			}
		}
		return remaining == 0, nil
	})
	if err != nil {
		return fmt.Errorf("drain %s: pods not evicted within %s (blocked by a PodDisruptionBudget: %v)", d.Node, timeout, blocked)
	}
	return nil
}

func (d *Drain) Revert(ctx context.Context) error {
	if d.WasCordoned {
		return nil
	}
	return d.setUnschedulable(ctx, false)
}

func (d *Drain) setUnschedulable(ctx context.Context, v bool) error {
	patch := fmt.Sprintf(`{"spec":{"unschedulable":%t}}`, v)
	_, err := d.Client.CoreV1().Nodes().Patch(ctx, d.Node, "application/merge-patch+json", []byte(patch), metav1.PatchOptions{})
	if apierrors.IsNotFound(err) && !v {
		return nil // a node that is gone is not left cordoned
	}
	return err
}

func (d *Drain) Spec() chaos.Spec {
	return chaos.Spec{Kind: chaos.Drain, Node: d.Node,
		Params: map[string]string{"wasCordoned": strconv.FormatBool(d.WasCordoned)}}
}

// evictable leaves out what a drain never evicts: DaemonSet pods (they
// tolerate the cordon) and static pods (the kubelet owns them).
func evictable(p *corev1.Pod) bool {
	if _, mirror := p.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return false
	}
	for _, o := range p.OwnerReferences {
		if o.Kind == "DaemonSet" {
			return false
		}
	}
	return p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}
