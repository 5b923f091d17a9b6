// Package version is the `kubeproof version` command.
package version

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/kubeproof/kubeproof/internal/version"
)

// New returns the `version` command.
func New() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print kubeproof's version (results.json carries the same)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(c.OutOrStdout(), "kubeproof %s (%s, %s/%s)\n", version.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
