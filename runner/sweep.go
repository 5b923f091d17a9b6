package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubeproof/kubeproof/cluster/kindcluster"
	"github.com/kubeproof/kubeproof/fixtures/meta"
	"github.com/kubeproof/kubeproof/internal/clusterlock"
	"github.com/kubeproof/kubeproof/internal/kindstate"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/internal/proc"
)

// sweepTimeout bounds the wait for the run's namespaces to disappear.
const sweepTimeout = 3 * time.Minute

// sweep deletes whatever namespaces of this run are still there (a spec's
// own cleanup normally got them first) and returns what remains.
func sweep(ctx context.Context, c *kube.Client, runID string) []string {
	// The run's own namespaces: this process owns them, so force.
	left, _ := Cleanup(ctx, c, meta.LabelRunID+"="+runID, sweepTimeout, true)
	return left
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
