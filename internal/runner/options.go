package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kubeproof/kubeproof/suites/framework"
)

// Options of one run.
type Options struct {
	Kubeconfig  string
	KubeContext string
	// Kind creates a kind cluster for the run and deletes it afterwards.
	Kind        bool
	KindConfig  string
	KindImage   string
	KeepCluster bool

	Profile         string
	LabelFilter     string
	Focus           string
	AllowDisruptive bool
	// AllowPrivilegedPods lets kubelet-freeze run a privileged pod.
	AllowPrivilegedPods bool
	Procs               int
	Timeout             time.Duration

	OutputDir     string
	WorkloadImage string
	RunID         string
}

// Profiles select what a run checks.
var Profiles = []string{"quick", "core", "certification"}

// validate checks flags that need no cluster; its errors are usage errors.
func (o *Options) validate() error {
	if o.Profile == "" {
		o.Profile = "core"
	}
	valid := false
	for _, p := range Profiles {
		valid = valid || o.Profile == p
	}
	if !valid {
		return fmt.Errorf("--profile %q: want one of %s", o.Profile, strings.Join(Profiles, ", "))
	}
	if err := framework.ValidateLabelFilter(o.LabelFilter); err != nil {
		return fmt.Errorf("--label-filter: %w", err)
	}
	if o.Procs < 1 {
		return fmt.Errorf("--procs %d: want 1 or more", o.Procs)
	}
	if o.Kind && (o.Kubeconfig != "" || o.KubeContext != "") {
		return fmt.Errorf("--kind creates its own cluster: drop --kubeconfig/--context, or drop --kind to test that cluster")
	}
	if !o.Kind && o.KindConfig != "" {
		return fmt.Errorf("--kind-config needs --kind")
	}
	if o.RunID == "" {
		o.RunID = time.Now().UTC().Format("20060102-150405")
	}
	if o.OutputDir == "" {
		o.OutputDir = filepath.Join("kubeproof-results", o.RunID)
	}
	return os.MkdirAll(o.OutputDir, 0o755)
}

// labelFilter combines the profile with the user's filter. Disruptive
// checks run only with consent: --allow-disruptive, or a cluster the run
// created itself.
func (o *Options) labelFilter(consented bool) (filter string, leftOut []string) {
	var parts []string
	switch o.Profile {
	case "quick":
		parts = append(parts, "profile:quick")
		leftOut = append(leftOut, "checks outside the quick profile (use --profile core or certification)")
	case "core":
		parts = append(parts, "!disruptive")
		leftOut = append(leftOut, "disruptive checks: node faults and component outages (use --profile certification)")
	case "certification":
		if !consented {
			parts = append(parts, "!disruptive")
			leftOut = append(leftOut, "disruptive checks: no consent to break this cluster (pass --allow-disruptive, or use --kind)")
		}
	}
	if o.LabelFilter != "" {
		parts = append(parts, "("+o.LabelFilter+")")
		leftOut = append(leftOut, "checks outside --label-filter "+o.LabelFilter)
	}
	return strings.Join(parts, " && "), leftOut
}
