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
	"github.com/kubeproof/kubeproof/internal/kindstate"
	"github.com/kubeproof/kubeproof/internal/kube"
)

// sweepTimeout bounds the wait for the run's namespaces to disappear.
const sweepTimeout = 3 * time.Minute

// sweep deletes whatever namespaces of this run are still there (a spec's
// own cleanup normally got them first) and returns what remains.
func sweep(ctx context.Context, c *kube.Client, runID string) []string {
	return Cleanup(ctx, c, meta.LabelRunID+"="+runID, sweepTimeout)
}

// Cleanup deletes every namespace matching the label selector and waits
// until they are gone; it returns those still present at the deadline.
func Cleanup(ctx context.Context, c *kube.Client, selector string, timeout time.Duration) []string {
	nss := c.CoreV1().Namespaces()
	list, err := nss.List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return []string{fmt.Sprintf("could not list namespaces %s: %v", selector, err)}
	}
	for _, ns := range list.Items {
		if ns.DeletionTimestamp == nil {
			if err := nss.Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil {
				fmt.Printf("delete namespace %s: %v\n", ns.Name, err)
			}
		}
	}
	var remaining []string
	_ = wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		list, err := nss.List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, nil
		}
		remaining = remaining[:0]
		for _, ns := range list.Items {
			remaining = append(remaining, "namespace "+ns.Name)
		}
		return len(remaining) == 0, nil
	})
	return remaining
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
		if err := kindcluster.Delete(r.Name, ""); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(out, "deleted kind cluster %s of run %s (its runner, pid %d, is gone)\n", r.Name, r.RunID, r.PID)
	}
	return errors.Join(errs...)
}
