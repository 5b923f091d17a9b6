// Package docker is the `kubeproof docker` command: bring up the engine kind needs.
package docker

import (
	"github.com/spf13/cobra"

	"github.com/kubeproof/kubeproof/cluster/dockerup"
	"github.com/kubeproof/kubeproof/internal/exitcode"
)

// New returns the `docker` command group.
func New() *cobra.Command {
	cmd := &cobra.Command{Use: "docker", Short: "Manage the Docker engine kind runs on"}
	var o dockerup.Options
	up := &cobra.Command{
		Use:   "up",
		Short: "Install (Debian, root) and start a Docker engine that can run kind nodes; does nothing if one answers",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			o.Log = c.OutOrStdout()
			return exitcode.EnvironmentError(dockerup.Ensure(c.Context(), o))
		},
	}
	up.Flags().StringVar(&o.LogPath, "log", "/var/log/kubeproof-dockerd.log", "where dockerd's output goes when kubeproof starts it")
	up.Flags().StringVar(&o.WrapperSource, "runtime-wrapper", "", "kubeproof-runc binary to install when needed (default: next to kubeproof)")
	cmd.AddCommand(up)
	return cmd
}
