// Package cli holds what kubeproof's commands share: flags declared once
// on a Go flag set (the suites' contract) added to a cobra command.
package cli

import (
	"flag"

	"github.com/spf13/cobra"
)

// GoFlags adds the flags register declares to the command; the names in
// hidden work but stay out of --help.
func GoFlags(c *cobra.Command, register func(*flag.FlagSet), hidden ...string) {
	fs := flag.NewFlagSet(c.Name(), flag.ContinueOnError)
	register(fs)
	c.Flags().AddGoFlagSet(fs)
	for _, name := range hidden {
		if err := c.Flags().MarkHidden(name); err != nil {
			panic(err) // a name not registered: a programming error
		}
	}
}
