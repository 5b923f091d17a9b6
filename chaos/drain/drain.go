// Package drain cordons a node and evicts its pods through the Eviction
// API, so PodDisruptionBudgets are respected: an API-level fault that works
// on managed clusters as well as on kind. Which pods go, and what is
// refused, is kubectl drain's own rule (k8s.io/kubectl/pkg/drain) without
// --force or --delete-emptydir-data: DaemonSet pods stay, unmanaged pods
// and pods with emptyDir data make the drain refuse before anything moves.
package drain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	kubectldrain "k8s.io/kubectl/pkg/drain"

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
	// Refused counts the evictions the API refused with 429 (a
	// PodDisruptionBudget said not yet) during Inject: the proof a PDB was
	// consulted and held.
	Refused int
}

// ErrRefused marks a drain kubectl drain would refuse without --force or
// --delete-emptydir-data.
var ErrRefused = errors.New("drain refused")

// helper is kubectl drain's pod selection, with its safe defaults.
func (d *Drain) helper(ctx context.Context) *kubectldrain.Helper {
	return &kubectldrain.Helper{Ctx: ctx, Client: d.Client, IgnoreAllDaemonSets: true, GracePeriodSeconds: -1, Out: io.Discard, ErrOut: io.Discard}
}

// podsToEvict are the node's pods a drain evicts; errs are kubectl drain's
// refusals (unmanaged pods, emptyDir data).
func (d *Drain) podsToEvict(ctx context.Context) ([]corev1.Pod, error) {
	list, errs := d.helper(ctx).GetPodsForDeletion(d.Node)
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w on node %s, as kubectl drain would without --force: %w", ErrRefused, d.Node, errors.Join(errs...))
	}
	return list.Pods(), nil
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
	_, err = d.podsToEvict(ctx)
	return err
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
	var refusal error
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		pods, err := d.podsToEvict(ctx)
		if errors.Is(err, ErrRefused) {
			refusal = err // a pod kubectl would not evict arrived: stop
			return false, err
		}
		if err != nil {
			return false, nil // the API may be busy: try again
		}
		blocked = blocked[:0]
		remaining := 0
		for _, p := range pods {
			if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
				continue
			}
			remaining++
			ev := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace}}
			err := d.Client.PolicyV1().Evictions(p.Namespace).Evict(ctx, ev)
			if apierrors.IsTooManyRequests(err) {
				d.Refused++
				blocked = append(blocked, p.Namespace+"/"+p.Name)
			}
		}
		return remaining == 0, nil
	})
	switch {
	case refusal != nil:
		return refusal
	case err != nil:
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
