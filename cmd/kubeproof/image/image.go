// Package image is the `kubeproof image` command: build the node image,
// publish the workload image.
package image

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubeproof/kubeproof/fixtures/workloadimage"
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
			if errors.Is(err, nodeimage.ErrVersion) {
				return exitcode.UsageError(err)
			}
			if err != nil {
				return exitcode.EnvironmentError(err)
			}
			fmt.Fprintln(c.OutOrStdout(), tag)
			return nil
		},
	}
	f := build.Flags()
	f.StringVar(&o.KubernetesVersion, "kubernetes-version", nodeimage.DefaultKubernetesVersion, "Kubernetes version to build (k8s.io/kubernetes on the Go module proxy), e.g. v1.35.4")
	f.StringVar(&o.UpgradeVersion, "upgrade-version", "", "a second Kubernetes version the image carries for `kubeproof upgrade rehearse` (the next minor, e.g. "+nodeimage.DefaultUpgradeVersion+"): its kubeadm, kubelet, kubectl and control-plane images")
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
			if o.UpgradeVersion != "" {
				t, err = nodeimage.UpgradeTag(dir, o.KubernetesVersion, o.UpgradeVersion)
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(c.OutOrStdout(), t)
			return nil
		},
	}
	tag.Flags().StringVar(&o.KubernetesVersion, "kubernetes-version", nodeimage.DefaultKubernetesVersion, "Kubernetes version")
	tag.Flags().StringVar(&o.UpgradeVersion, "upgrade-version", "", "the second version an upgrade image carries")
	cmd.AddCommand(build, tag, push())
	return cmd
}

func push() *cobra.Command {
	var o workloadimage.PushOptions
	cmd := &cobra.Command{
		Use:   "push REGISTRY/REPO[:TAG]",
		Short: "Build the workload image for every platform and push it as one multi-platform index; prints its digest",
		Long: `Build the workload image (the pods of every check and the kubelet-freeze fault run it)
for each platform and push the images as one index, so that clusters kubeproof cannot
side-load into (managed, on-prem) pull it: then run with --workload-image REPO@DIGEST.
Credentials come from the Docker configuration (docker login, credential helpers).`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			p, err := workloadimage.Push(c.Context(), args[0], o)
			if errors.Is(err, workloadimage.ErrBadReference) {
				return exitcode.UsageError(err)
			}
			if err != nil {
				return exitcode.EnvironmentError(err)
			}
			fmt.Fprintf(c.OutOrStdout(), "%s (%s)\n", p.Ref, strings.Join(p.Platforms, ", "))
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&o.Platforms, "platform", workloadimage.Platforms, "platforms to build, linux/ARCH")
	cmd.Flags().BoolVar(&o.Insecure, "insecure", false, "allow a registry over plain HTTP or with a certificate that does not verify")
	return cmd
}
