// Package cluster is the `kubeproof cluster` command group: kind clusters
// from kubeproof's offline node image.
package cluster

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeproof/kubeproof/cluster/kindcluster"
	"github.com/kubeproof/kubeproof/internal/clusterlock"
	"github.com/kubeproof/kubeproof/internal/exitcode"
)

// New returns the `cluster` command group.
func New() *cobra.Command {
	cmd := &cobra.Command{Use: "cluster", Short: "Create, list, delete kind clusters and export their logs"}
	cmd.AddCommand(newCreate(), newDelete(), newList(), newExportLogs())
	return cmd
}

func newCreate() *cobra.Command {
	var o kindcluster.CreateOptions
	c := &cobra.Command{
		Use:   "create",
		Short: "Create a kind cluster and wait until every node and kube-system pod is Ready",
		Long: "Create a kind cluster (default: 1 control plane + 2 workers) from kubeproof's node image.\n" +
			"Shipped configs: " + strings.Join(kindcluster.ShippedConfigs(), ", "),
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			o.Out = c.OutOrStdout()
			lock, err := clusterlock.Kind(o.Name, "cluster create")
			if err != nil {
				return exitcode.BusyError(err)
			}
			defer lock.Unlock()
			start := time.Now()
			cl, err := kindcluster.Create(c.Context(), o)
			if err != nil {
				return classify(err)
			}
			out := c.OutOrStdout()
			fmt.Fprintf(out, "cluster %s is Ready (image %s)\n", cl.Name, cl.Image)
			for _, t := range cl.Timings {
				fmt.Fprintf(out, "  %-45s %6.1fs\n", t.Step, t.Duration.Seconds())
			}
			fmt.Fprintf(out, "  %-45s %6.1fs\n", "total", time.Since(start).Seconds())
			fmt.Fprintf(out, "export KUBECONFIG=%s\n", cl.KubeconfigPath)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&o.Name, "name", kindcluster.DefaultName, "cluster name")
	f.StringVar(&o.Config, "config", "", "kind config file, or the name of a shipped one (single-node, three-node, fast-recovery)")
	f.StringVar(&o.Image, "image", "", "kind node image (default: kubeproof's image for this source tree; any kindest/node image works too)")
	f.StringVar(&o.KubeconfigPath, "kubeconfig", "", "where to write the kubeconfig (default ~/.kube/kubeproof-NAME.yaml)")
	f.BoolVar(&o.Retain, "retain", false, "keep the nodes if the cluster fails to become Ready")
	f.DurationVar(&o.ReadyTimeout, "wait", 5*time.Minute, "how long to wait for nodes and kube-system pods to be Ready")
	f.StringVar(&o.LogsDir, "logs-dir", "", "where logs are exported if creation fails")
	return c
}

func newDelete() *cobra.Command {
	var name, kubeconfig string
	c := &cobra.Command{
		Use:   "delete",
		Short: "Delete a kind cluster (does nothing if it does not exist)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			lock, err := clusterlock.Kind(name, "cluster delete")
			if err != nil {
				return exitcode.BusyError(err)
			}
			defer lock.Unlock()
			start := time.Now()
			if err := kindcluster.Delete(name, kubeconfig); err != nil {
				return exitcode.EnvironmentError(err)
			}
			fmt.Fprintf(c.OutOrStdout(), "cluster %s deleted in %.1fs\n", name, time.Since(start).Seconds())
			return nil
		},
	}
	c.Flags().StringVar(&name, "name", kindcluster.DefaultName, "cluster name")
	c.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig written at create (default ~/.kube/kubeproof-NAME.yaml)")
	return c
}

func newList() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List kind clusters on this machine",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			names, err := kindcluster.List()
			if err != nil {
				return exitcode.EnvironmentError(err)
			}
			for _, n := range names {
				fmt.Fprintln(c.OutOrStdout(), n)
			}
			return nil
		},
	}
}

func newExportLogs() *cobra.Command {
	var name string
	c := &cobra.Command{
		Use:   "export-logs DIR",
		Short: "Export node journals, container and pod logs of a kind cluster to DIR",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := kindcluster.ExportLogs(name, args[0]); err != nil {
				return exitcode.EnvironmentError(err)
			}
			fmt.Fprintf(c.OutOrStdout(), "logs of %s exported to %s\n", name, args[0])
			return nil
		},
	}
	c.Flags().StringVar(&name, "name", kindcluster.DefaultName, "cluster name")
	return c
}

// classify maps creation failures to exit codes: the user's input (a bad
// config, a name in use) or the machine (no Docker, no image, not Ready).
func classify(err error) error {
	if errors.Is(err, kindcluster.ErrBadConfig) || errors.Is(err, kindcluster.ErrExists) {
		return exitcode.UsageError(err)
	}
	return exitcode.EnvironmentError(err)
}
