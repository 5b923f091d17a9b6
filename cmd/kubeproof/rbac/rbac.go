// Package rbac is the `kubeproof rbac` command: the least-privilege roles
// of a profile.
package rbac

import (
	"github.com/spf13/cobra"

	"github.com/kubeproof/kubeproof/internal/exitcode"
	"github.com/kubeproof/kubeproof/runner"
	"github.com/kubeproof/kubeproof/suites/contract"
)

// New returns the `rbac` command.
func New() *cobra.Command {
	var profile, subject, pullSecret string
	c := &cobra.Command{
		Use:   "rbac",
		Short: "Print the roles a profile needs (least privilege), bound to --subject when given; `kubectl apply -f -` them",
		Long: `Print, as YAML, the ClusterRole and Roles that grant exactly what a run of
--profile does against the API (certification: with its disruptive checks,
which also covers kubeproof chaos revert; core also covers kubeproof cleanup).
With --subject the bindings to that identity are printed too. A run checks
these permissions before it creates anything and names what is missing.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := contract.ValidateProfile(profile); err != nil {
				return exitcode.UsageError(err)
			}
			out, err := runner.RBAC(profile, contract.SelectsDisruptive(profile, true), pullSecret, runner.Subject(subject))
			if err != nil {
				return exitcode.UsageError(err)
			}
			_, err = c.OutOrStdout().Write(out)
			return err
		},
	}
	f := c.Flags()
	f.StringVar(&profile, "profile", contract.DefaultProfile, "the profile whose permissions to print: quick, core or certification")
	f.StringVar(&subject, "subject", "", "bind the roles to serviceaccount:NAMESPACE:NAME, user:NAME or group:NAME")
	f.StringVar(&pullSecret, "image-pull-secret", "", "[NAMESPACE/]NAME of the registry Secret the run will be given: reading it and copying it")
	return c
}
