// Package run is the `kubeproof run` command.
package run

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeproof/kubeproof/cmd/kubeproof/internal/cli"
	"github.com/kubeproof/kubeproof/runner"
	"github.com/kubeproof/kubeproof/suites/contract"
)

// New returns the `run` command.
func New() *cobra.Command {
	var o runner.Options
	c := &cobra.Command{
		Use:   "run",
		Short: "Run the checks against a cluster (or a throwaway kind cluster) and write the results",
		Long: `Run kubeproof's checks against the cluster of --kubeconfig/--context (kubectl's
rules: KUBECONFIG is honoured), or with --kind (or when no cluster is configured)
against a kind cluster created for the run and deleted after it.

Exit codes: 0 every check passed; 1 a check failed; 2 bad flags or config;
3 the cluster or the machine could not be used; 130 interrupted.

Labels for --label-filter: ` + contract.LabelNames(),
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			_, err := runner.Run(c.Context(), o, c.OutOrStdout())
			return err
		},
	}
	cli.GoFlags(c, o.Settings.RegisterFlags, contract.Internal...)
	f := c.Flags()
	f.BoolVar(&o.Kind, "kind", false, "create a kind cluster for the run and delete it afterwards")
	f.StringVar(&o.KindConfig, "kind-config", "", "kind topology for --kind: a file or single-node, three-node, fast-recovery (default three-node)")
	f.StringVar(&o.KindImage, "kind-image", "", "node image for --kind (default: kubeproof's own)")
	f.BoolVar(&o.NotKind, "no-kind-detection", false, "treat the cluster as one kubeproof cannot reach through Docker, even if it is a kind cluster of this machine: no side-loading (needs --workload-image), node faults through Docker not checked")
	f.BoolVar(&o.KeepCluster, "keep-cluster", false, "keep the --kind cluster after the run")
	f.StringVar(&o.Profile, "profile", contract.DefaultProfile, "what to check: quick (smoke, ~1 min), core (all non-disruptive), certification (everything; disruptive only with consent)")
	f.StringVar(&o.LabelFilter, "label-filter", "", "Ginkgo label filter, ANDed with the profile, e.g. 'area:networking && !cross-node'")
	f.StringVar(&o.Focus, "focus", "", "run only checks whose name matches this regular expression")
	f.IntVar(&o.Procs, "procs", 2, "parallel spec processes for non-disruptive checks")
	f.DurationVar(&o.Timeout, "timeout", time.Hour, "bound for the whole run of the suites")
	f.StringVar(&o.OutputDir, "output-dir", "", "where results.json, junit.xml and logs go (default ./kubeproof-results/RUN-ID)")
	f.BoolVar(&o.InsecureRegistry, "insecure-registry", false, "the registry of --workload-image (and --conformance-registry) speaks plain HTTP (its digest is looked up there)")
	f.BoolVar(&o.Conformance, "conformance", false, "with --profile certification: after the checks, run the upstream [Conformance] specs of the cluster's version (built here; about an hour on 2 cores); CERTIFIED needs every one passed")
	f.StringVar(&o.ConformanceFocus, "conformance-focus", "", "run only the conformance specs matching this regular expression (not valid for certification)")
	f.StringVar(&o.ConformanceRegistry, "conformance-registry", "", "push the conformance images to REGISTRY[:PORT][/PATH] for a cluster that pulls (as `kubeproof conformance run --registry`)")
	return c
}
