// Command kubeproof checks that a Kubernetes cluster networks, serves,
// heals and recovers, and writes reports a CI system and a person can read.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kubeproof/kubeproof/cmd/kubeproof/chaos"
	"github.com/kubeproof/kubeproof/cmd/kubeproof/cleanup"
	"github.com/kubeproof/kubeproof/cmd/kubeproof/cluster"
	"github.com/kubeproof/kubeproof/cmd/kubeproof/conformance"
	"github.com/kubeproof/kubeproof/cmd/kubeproof/docker"
	"github.com/kubeproof/kubeproof/cmd/kubeproof/image"
	"github.com/kubeproof/kubeproof/cmd/kubeproof/rbac"
	"github.com/kubeproof/kubeproof/cmd/kubeproof/report"
	"github.com/kubeproof/kubeproof/cmd/kubeproof/run"
	"github.com/kubeproof/kubeproof/cmd/kubeproof/upgrade"
	"github.com/kubeproof/kubeproof/cmd/kubeproof/version"
	"github.com/kubeproof/kubeproof/internal/exitcode"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// A closed stdout or stderr (output piped to a command that exited)
	// must not kill a run half way, leaving its objects and its Lease:
	// with SIGPIPE caught, a write there fails instead, and the run goes
	// on to its cleanup and its results files.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	root := &cobra.Command{
		Use:           "kubeproof",
		Short:         "Conformance and chaos checks for Kubernetes clusters",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return exitcode.UsageError(fmt.Errorf("%w (see %s --help)", err, c.CommandPath()))
	})
	root.AddCommand(run.New(), report.New(), cluster.New(), chaos.New(), cleanup.New(), image.New(), rbac.New(), docker.New(), upgrade.New(), conformance.New(), version.New())
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubeproof: %v\n", err)
	}
	os.Exit(exitcode.Of(err))
}
