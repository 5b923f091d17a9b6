package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubeproof/kubeproof/cluster/kindcluster"
	"github.com/kubeproof/kubeproof/fixtures/meta"
	"github.com/kubeproof/kubeproof/internal/clusterlock"
	"github.com/kubeproof/kubeproof/internal/kindstate"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/internal/proc"
)

// sweepTimeout bounds the wait for the run's pods to be gone.
const sweepTimeout = 3 * time.Minute

// sweep makes sure nothing of the run is left running: every namespace of
// the run is deleted (each check deletes its own as it ends, pods first)
// and holds no pod any more, a pod still terminating being deleted at once.
// A terminating namespace refuses new objects, and the namespace
// controller removes it with the rest of its objects on its own, about
// 5 s after the deletion (a fixed grace period): the run does not wait for
// that, which would add those 5 s to every run; `kubeproof cleanup` does.
// It returns what remains at the deadline, a line each.
func sweep(ctx context.Context, c *kube.Client, runID string) []string {
	var remaining []string
	forced := map[types.UID]bool{}
	_ = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, sweepTimeout, true, func(ctx context.Context) (bool, error) {
		list, err := c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: meta.LabelRunID + "=" + runID})
		if err != nil {
			remaining = []string{fmt.Sprintf("could not list the run's namespaces: %v", err)}
			return false, nil
		}
		remaining = remaining[:0]
		for _, ns := range list.Items {
			if ns.DeletionTimestamp == nil {
				// A check that could not delete its own: the run owns
				// it, so no owner check. Its process may have been killed
				// before it took its finalizer off an object, which would
				// hold the namespace for ever.
				if err := kube.ReleaseFinalizer(ctx, c, ns.Name, meta.FinalizerHold); err != nil {
					remaining = append(remaining, fmt.Sprintf("namespace %s (%v)", ns.Name, err))
					continue
				}
				if err := kube.DeleteNamespaceNow(ctx, c, ns.Name); err != nil {
					remaining = append(remaining, fmt.Sprintf("namespace %s (%v)", ns.Name, err))
					continue
				}
			}
			pods, err := c.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{})
			if err != nil {
				remaining = append(remaining, fmt.Sprintf("namespace %s (could not list its pods: %v)", ns.Name, err))
				continue
			}
			for _, p := range pods.Items {
				remaining = append(remaining, "pod "+ns.Name+"/"+p.Name)
				// Created before the namespace's deletion, or deleted
				// since with its own grace period: now.
				if !forced[p.UID] {
					forced[p.UID] = true
					_ = c.CoreV1().Pods(ns.Name).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
				}
			}
		}
		return len(remaining) == 0, nil
	})
	return remaining
}

// Cleanup deletes every namespace matching the label selector and waits
// until they are gone; it returns those still present at the deadline.
func Cleanup(ctx context.Context, c *kube.Client, selector string, timeout time.Duration, force bool) (remaining, skipped []string) {
	nss := c.CoreV1().Namespaces()
	list, err := nss.List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return []string{fmt.Sprintf("could not list namespaces %s: %v", selector, err)}, nil
	}
	live := map[string]bool{}
	for _, ns := range list.Items {
		if owner := ns.Annotations[meta.AnnotationOwner]; !force && proc.LiveOwner(owner) {
			live[ns.Name] = true
			skipped = append(skipped, fmt.Sprintf("namespace %s (run %s is still live: %s)", ns.Name, ns.Labels[meta.LabelRunID], owner))
			continue
		}
		// A killed run's finalizer would hold its namespace for ever.
		if err := kube.ReleaseFinalizer(ctx, c, ns.Name, meta.FinalizerHold); err != nil {
			fmt.Printf("%v\n", err)
		}
		if ns.DeletionTimestamp == nil {
			if err := nss.Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil {
				fmt.Printf("delete namespace %s: %v\n", ns.Name, err)
			}
		}
	}
	_ = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		list, err := nss.List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, nil
		}
		remaining = remaining[:0]
		for _, ns := range list.Items {
			if !live[ns.Name] {
				remaining = append(remaining, "namespace "+ns.Name)
			}
		}
		return len(remaining) == 0, nil
	})
	return remaining, skipped
}

// RemoveOrphanClusters deletes the kind clusters created for a run ("" =
// any run) whose runner process is gone, and says which; clusters created
// with `kubeproof cluster create` or kept with --keep-cluster stay.
func RemoveOrphanClusters(out io.Writer, runID string) error {
	orphans, err := kindstate.Orphans()
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for _, r := range orphans {
		if runID != "" && r.RunID != runID {
			continue
		}
		lock, err := clusterlock.Kind(r.Name, "cleanup")
		if err != nil {
			fmt.Fprintf(out, "left kind cluster %s: %v\n", r.Name, err)
			continue
		}
		err = kindcluster.Delete(r.Name, "")
		lock.Unlock()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(out, "deleted kind cluster %s of run %s (its runner, pid %d, is gone)\n", r.Name, r.RunID, r.PID)
	}
	return errors.Join(errs...)
}
