// Package upgrade is the `kubeproof upgrade` command: rehearse an upgrade
// to the next Kubernetes minor on a kind cluster, under live traffic.
package upgrade

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeproof/kubeproof/internal/exitcode"
	"github.com/kubeproof/kubeproof/nodeimage"
	"github.com/kubeproof/kubeproof/rehearsal"
	"github.com/kubeproof/kubeproof/suites/contract"
)

// New returns the `upgrade` command group.
func New() *cobra.Command {
	cmd := &cobra.Command{Use: "upgrade", Short: "Rehearse a Kubernetes upgrade before doing it"}
	var o rehearsal.Options
	var downtime []string
	rehearse := &cobra.Command{
		Use:   "rehearse",
		Short: "Upgrade a kind cluster from --from to --to under live traffic, offline; time each step and measure downtime",
		Long: `Create a kind cluster at --from (three nodes by default), run the profile (before/),
deploy long-lived workloads (a Deployment with a PodDisruptionBudget behind a ClusterIP
and a NodePort, a one-replica Deployment without one as the control, a StatefulSet
writing to local volumes, a ConfigMap, a Secret, a Job and a CronJob), start probes
that run until the end (ClusterIP and NodePort from every node, DNS, new and reused
connections to the API server, a watch), upgrade the way kubeadm documents it (plan,
apply, then each node in turn: cordon, drain honouring PodDisruptionBudgets, kubeadm
upgrade node, kubelet and kubectl, uncordon; the version skew checked after each step),
run the profile again (after/) and write upgrade.json, upgrade.html and diff.md.

Both versions come from the node image, built here from the Go module proxy and
cached by content: no registry is needed.

Exit codes: 0 both runs passed, no object or data was lost and every probe stayed
within its budget; 1 otherwise, the first line naming the worst finding; 2 bad flags
(--to must be the next minor: the skew policy); 3 the machine or cluster failed it.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			o.MaxDowntime = map[string]time.Duration{}
			for _, d := range downtime {
				name, value, ok := strings.Cut(d, "=")
				dur, err := time.ParseDuration(value)
				if !ok || err != nil {
					return exitcode.UsageError(fmt.Errorf("--max-downtime %q: want PROBE=DURATION, such as clusterip/single=5s", d))
				}
				o.MaxDowntime[name] = dur
			}
			_, err := rehearsal.Rehearse(c.Context(), o, c.OutOrStdout())
			return err
		},
	}
	f := rehearse.Flags()
	f.StringVar(&o.From, "from", nodeimage.DefaultKubernetesVersion, "the Kubernetes version the cluster starts at")
	f.StringVar(&o.To, "to", nodeimage.DefaultUpgradeVersion, "the version to upgrade to: the next minor, with its patch")
	f.StringVar(&o.Profile, "profile", contract.DefaultProfile, "the profile run before and after the upgrade")
	f.IntVar(&o.Procs, "procs", 2, "parallel spec processes of the profile's runs")
	f.StringVar(&o.KindConfig, "kind-config", "", "kind topology: a file or single-node, three-node, fast-recovery (default three-node)")
	f.BoolVar(&o.KeepCluster, "keep-cluster", false, "keep the cluster after the rehearsal")
	f.StringVar(&o.OutputDir, "output-dir", "", "where upgrade.json, upgrade.html, before/, after/ and the steps' logs go (default ./kubeproof-results/upgrade-RUN-ID)")
	f.StringArrayVar(&downtime, "max-downtime", nil, "PROBE=DURATION: the longest outage allowed for a probe (repeatable); by default 0 for web's ClusterIP and NodePort (its PodDisruptionBudget held) and the watch, the others measured, not judged")
	cmd.AddCommand(rehearse)
	return cmd
}
