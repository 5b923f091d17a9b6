// Package cleanup is the `kubeproof cleanup` command: remove what runs left.
package cleanup

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeproof/kubeproof/cmd/kubeproof/internal/cli"
	"github.com/kubeproof/kubeproof/conformance"
	"github.com/kubeproof/kubeproof/fixtures/meta"
	"github.com/kubeproof/kubeproof/internal/clusterlock"
	"github.com/kubeproof/kubeproof/internal/exitcode"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/runner"
	"github.com/kubeproof/kubeproof/suites/contract"
)

// New returns the `cleanup` command.
func New() *cobra.Command {
	var target contract.Cluster
	var runID string
	var force bool
	c := &cobra.Command{
		Use:   "cleanup",
		Short: "Delete what killed runs left: their kind clusters on this machine, the namespaces kubeproof labelled in a cluster, and the cluster's Lease if its run is gone",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := runner.RemoveOrphanClusters(c.OutOrStdout(), runID); err != nil {
				return exitcode.EnvironmentError(err)
			}
			client, err := kube.NewClient(target.Kubeconfig, target.Context)
			if err != nil {
				return exitcode.EnvironmentError(err)
			}
			selector := meta.ManagedSelector(runID)
			left, skipped := runner.Cleanup(c.Context(), client, selector, 3*time.Minute, force)
			// The upstream suite's namespaces, which conformance runs
			// recorded on this machine as they appeared.
			if runID == "" {
				deleted, failed, live := conformance.CleanupNamespaces(c.Context(), client, force)
				for _, d := range deleted {
					fmt.Fprintf(c.OutOrStdout(), "removed %s (left by a conformance run)\n", d)
				}
				left, skipped = append(left, failed...), append(skipped, live...)
			}
			// The cluster lock last: it keeps other runs off while a run's
			// objects are still there.
			removed, held, err := clusterlock.RemoveStale(c.Context(), client, runID, force)
			switch {
			case err != nil:
				left = append(left, err.Error())
			case removed != "":
				fmt.Fprintf(c.OutOrStdout(), "removed the %s\n", removed)
			case held != "":
				skipped = append(skipped, held)
			}
			for _, l := range left {
				fmt.Fprintf(c.OutOrStdout(), "still present: %s\n", l)
			}
			for _, s := range skipped {
				fmt.Fprintf(c.OutOrStdout(), "left to its run: %s; --force removes it now\n", s)
			}
			if len(left) > 0 {
				return exitcode.EnvironmentError(fmt.Errorf("%d objects could not be removed", len(left)))
			}
			if len(skipped) == 0 {
				fmt.Fprintf(c.OutOrStdout(), "nothing left (%s)\n", selector)
			}
			return nil
		},
	}
	cli.GoFlags(c, target.RegisterFlags)
	c.Flags().StringVar(&runID, "run-id", "", "only this run's objects (default: every kubeproof run's)")
	c.Flags().BoolVar(&force, "force", false, "remove the objects of runs that are still live too")
	return c
}
