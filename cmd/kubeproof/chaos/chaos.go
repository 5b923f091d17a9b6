// Package chaos is the `kubeproof chaos` command group: inject a fault by
// hand, list the faults runs left active, and revert them.
package chaos

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeproof/kubeproof/chaos"
	"github.com/kubeproof/kubeproof/chaos/faults"
	"github.com/kubeproof/kubeproof/chaos/journal"
	"github.com/kubeproof/kubeproof/chaos/kindnode"
	"github.com/kubeproof/kubeproof/cmd/kubeproof/internal/cli"
	"github.com/kubeproof/kubeproof/fixtures/workloadimage"
	"github.com/kubeproof/kubeproof/internal/clusterlock"
	"github.com/kubeproof/kubeproof/internal/exitcode"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/suites/contract"
)

// New returns the `chaos` command group.
func New() *cobra.Command {
	c := &cobra.Command{Use: "chaos", Short: "Inject, list and revert faults (every fault is journalled before it is injected)"}
	c.AddCommand(newInject(), newList(), newRevert())
	return c
}

func newInject() *cobra.Command {
	var r faults.Request
	var target contract.Cluster
	var runID string
	c := &cobra.Command{
		Use:   "inject FAULT",
		Short: "Inject one fault: " + strings.Join(faults.Kinds, ", "),
		Long: "Inject one fault, after printing exactly what will be done. The fault stays until\n" +
			"`kubeproof chaos revert`: use it to watch a cluster fail and recover by hand.",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			r.Kind = chaos.Kind(args[0])
			if _, err := faults.Lookup(r.Kind); err != nil {
				return exitcode.UsageError(err)
			}
			client, err := kube.NewClient(target.Kubeconfig, target.Context)
			if err != nil {
				return exitcode.EnvironmentError(err)
			}
			// The resolved context is journalled, so that revert does not
			// follow a later change of the current context.
			t := faults.TargetFor(c.Context(), client, target.Kubeconfig, kindnode.ClusterFromContext(client.ContextName))
			if r.Kind == chaos.KubeletFreeze && r.Image == "" && t.KindCluster != "" {
				if r.Image, err = workloadimage.OnKind(c.Context(), t.KindCluster); err != nil {
					return exitcode.EnvironmentError(err)
				}
			}
			// Not under a run: its checks would measure this fault as theirs.
			if err := clusterlock.Check(c.Context(), client, runID); err != nil {
				if errors.Is(err, clusterlock.ErrBusy) {
					return exitcode.BusyError(err)
				}
				return exitcode.EnvironmentError(err)
			}
			if runID == "" {
				runID = "manual-" + time.Now().UTC().Format("20060102-150405")
			}
			r.RunID = runID
			f, err := faults.Plan(c.Context(), t, r)
			if err != nil {
				// Refusals and bad requests are the user's to fix (exit 2);
				// anything else is the cluster or the machine (exit 3).
				if errors.Is(err, faults.ErrUnsafe) || errors.Is(err, faults.ErrBadRequest) || errors.Is(err, faults.ErrUnknownKind) {
					return exitcode.UsageError(err)
				}
				return exitcode.EnvironmentError(err)
			}
			out := c.OutOrStdout()
			fmt.Fprintf(out, "plan: %s, in cluster %s (server %s)\n", f.Describe(), t.Cluster, t.Server)
			e, err := faults.Inject(c.Context(), runID, t, f)
			if err != nil {
				return exitcode.EnvironmentError(err)
			}
			fmt.Fprintf(out, "injected (journal %s/%s.json); undo with: kubeproof chaos revert --run-id %s\n", journal.Dir(), e.ID, runID)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&r.Node, "node", "", "target node")
	f.StringVar(&r.Namespace, "namespace", "default", "namespace of pod-kill")
	f.StringVar(&r.Component, "component", "", "control-plane component of component-stop: "+strings.Join(kindnode.Components, ", "))
	f.StringVar(&r.Selector, "selector", "", "label selector of pod-kill")
	f.BoolVar(&r.AllowDisruptive, "allow-disruptive", false, "consent to break a cluster kubeproof did not create")
	f.BoolVar(&r.AllowControlPlane, "allow-control-plane", false, "allow a control-plane node as the target")
	f.BoolVar(&r.AllowPrivilegedPods, "allow-privileged-pods", false, "allow kubelet-freeze's privileged hostPID pod (works on any cluster)")
	f.DurationVar(&r.For, "for", 2*time.Minute, "how long kubelet-freeze keeps the kubelet stopped (it resumes it by itself)")
	f.StringVar(&r.Image, "workload-image", "", "workload image for kubelet-freeze (default on kind: built and side-loaded)")
	f.StringVar(&r.PullSecret, "image-pull-secret", "", "[NAMESPACE/]NAME of the registry Secret for --workload-image: copied into the fault's namespace")
	cli.GoFlags(c, target.RegisterFlags)
	f.StringVar(&runID, "run-id", "", "journal the fault under this run ID (default manual-<time>)")
	return c
}

func newList() *cobra.Command {
	var runID string
	c := &cobra.Command{
		Use:   "list",
		Short: "List the faults that are still active (journalled and not reverted)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			// Unreadable entries are reported after the readable ones, which
			// they must not hide.
			entries, listErr := journal.List(runID)
			if len(entries) == 0 && listErr == nil {
				fmt.Fprintln(c.OutOrStdout(), "no active faults")
				return nil
			}
			if len(entries) > 0 {
				tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "RUN\tFAULT\tCLUSTER\tTARGET\tSINCE\tWHAT")
				for _, e := range entries {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.RunID, e.Spec.Kind, e.Cluster, target(e), e.InjectedAt.Local().Format(time.TimeOnly), e.Describe)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			if listErr != nil {
				return exitcode.EnvironmentError(listErr)
			}
			return nil
		},
	}
	c.Flags().StringVar(&runID, "run-id", "", "only this run's faults")
	return c
}

func newRevert() *cobra.Command {
	var runID string
	var force bool
	c := &cobra.Command{
		Use:   "revert",
		Short: "Revert every active fault (of one run with --run-id), newest first",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			done, skipped, err := faults.RevertAll(c.Context(), runID, force)
			for _, e := range done {
				fmt.Fprintf(c.OutOrStdout(), "reverted %s on %s in %s (run %s)\n", e.Spec.Kind, target(e), e.Cluster, e.RunID)
			}
			for _, e := range skipped {
				fmt.Fprintf(c.OutOrStdout(), "skipped %s on %s in %s: run %s is still live (%s) and reverts it itself; --force reverts it now\n", e.Spec.Kind, target(e), e.Cluster, e.RunID, e.Owner)
			}
			if errors.Is(err, faults.ErrWrongCluster) {
				// The user's to fix: point kubeconfig or Docker back at the fault's cluster.
				return exitcode.UsageError(err)
			}
			if err != nil {
				return exitcode.EnvironmentError(err)
			}
			if len(done)+len(skipped) == 0 {
				fmt.Fprintln(c.OutOrStdout(), "no active faults")
			}
			return nil
		},
	}
	c.Flags().StringVar(&runID, "run-id", "", "only this run's faults")
	c.Flags().BoolVar(&force, "force", false, "revert faults of runs that are still live too")
	return c
}

// target names what a fault hit: its node, or the pods of a pod-kill.
func target(e journal.Entry) string {
	if c := e.Spec.Params["component"]; c != "" {
		return c + " on " + e.Spec.Node
	}
	if e.Spec.Node != "" {
		return e.Spec.Node
	}
	return fmt.Sprintf("pods %s in %s", e.Spec.Params["selector"], e.Spec.Params["namespace"])
}
