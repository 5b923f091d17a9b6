// Package image is the `kubeproof image` command: build the node image.
package image

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kubeproof/kubeproof/internal/exitcode"
	"github.com/kubeproof/kubeproof/internal/paths"
	"github.com/kubeproof/kubeproof/nodeimage"
)

// New returns the `image` command group.
func New() *cobra.Command {
	cmd := &cobra.Command{Use: "image", Short: "Build the images kubeproof's clusters run"}
	var o nodeimage.Options
	build := &cobra.Command{
		Use:   "build-node",
		Short: "Build the kind node image offline (Debian rootfs + Kubernetes from source); cached by the hash of its inputs",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			o.Log = c.OutOrStdout()
			tag, err := nodeimage.Build(c.Context(), o)
			if err != nil {
				return exitcode.EnvironmentError(err)
			}
			fmt.Fprintln(c.OutOrStdout(), tag)
			return nil
		},
	}
	f := build.Flags()
	f.StringVar(&o.KubernetesVersion, "kubernetes-version", nodeimage.DefaultKubernetesVersion, "Kubernetes version to build (k8s.io/kubernetes on the Go module proxy), e.g. v1.35.4")
	f.StringVar(&o.CacheDir, "cache-dir", "", "where builds are cached (default: $XDG_CACHE_HOME/kubeproof)")
	f.StringVar(&o.Mirror, "mirror", "", "Debian mirror for debootstrap (default: http://deb.debian.org/debian)")
	f.BoolVar(&o.Rebuild, "rebuild", false, "build even if an image with the same inputs exists")
	tag := &cobra.Command{
		Use:   "node-tag",
		Short: "Print the tag the node image of this source tree has",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			dir, err := paths.SourceDir()
			if err != nil {
				return exitcode.EnvironmentError(err)
			}
			t, err := nodeimage.Tag(dir, o.KubernetesVersion)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.OutOrStdout(), t)
			return nil
		},
	}
	tag.Flags().StringVar(&o.KubernetesVersion, "kubernetes-version", nodeimage.DefaultKubernetesVersion, "Kubernetes version")
	cmd.AddCommand(build, tag)
	return cmd
}
