package runner

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kubeproof/kubeproof/conformance"
	"github.com/kubeproof/kubeproof/suites/contract"
)

// Options of one run: the settings the suites receive, and what only the
// runner acts on.
type Options struct {
	contract.Settings

	// Kind creates a kind cluster for the run and deletes it afterwards.
	Kind        bool
	KindConfig  string
	KindImage   string
	KeepCluster bool

	Profile     string
	LabelFilter string
	Focus       string
	Procs       int
	Timeout     time.Duration

	// NotKind treats the cluster as foreign even when it is a kind cluster
	// of this machine: nothing is side-loaded, and no fault goes through
	// Docker.
	NotKind bool

	OutputDir string
	// InsecureRegistry: the registry of --workload-image (and of
	// ConformanceRegistry) speaks plain HTTP (or has a certificate that
	// does not verify).
	InsecureRegistry bool

	// Conformance runs the upstream [Conformance] specs after the checks:
	// the certification verdict needs the whole set passed.
	Conformance bool
	// ConformanceFocus runs part of the set (not valid for certification).
	ConformanceFocus string
	// ConformanceRegistry receives the suite's images for a cluster that
	// pulls.
	ConformanceRegistry string
}

// validate checks flags that need no cluster; its errors are usage errors.
func (o *Options) validate() error {
	if o.Profile == "" {
		o.Profile = contract.DefaultProfile
	}
	if err := contract.ValidateProfile(o.Profile); err != nil {
		return err
	}
	if err := contract.ValidateFilter(o.LabelFilter); err != nil {
		return fmt.Errorf("--label-filter: %w", err)
	}
	switch {
	case o.Profile == "pre-upgrade" && o.TargetVersion == "":
		return fmt.Errorf("--profile pre-upgrade needs --target-version vMAJOR.MINOR[.PATCH]: the version the cluster will be upgraded to")
	case o.Profile != "pre-upgrade" && o.TargetVersion != "":
		return fmt.Errorf("--target-version is for --profile pre-upgrade, not %s", o.Profile)
	case o.TargetVersion != "":
		if _, err := parseTarget(o.TargetVersion); err != nil {
			return err
		}
	}
	if o.Procs < 1 {
		return fmt.Errorf("--procs %d: want 1 or more", o.Procs)
	}
	switch {
	case o.Conformance && o.Profile != "certification":
		return fmt.Errorf("--conformance is part of the certification verdict: add --profile certification, or run `kubeproof conformance run` alone")
	case !o.Conformance && (o.ConformanceFocus != "" || o.ConformanceRegistry != ""):
		return fmt.Errorf("--conformance-focus and --conformance-registry need --conformance")
	case o.Conformance:
		e := conformance.ExecuteOptions{Focus: o.ConformanceFocus, Procs: o.Procs}
		if err := e.Validate(); err != nil {
			return fmt.Errorf("--conformance-focus: %w", err)
		}
	}
	if o.Kind && (o.Kubeconfig != "" || o.Context != "") {
		return fmt.Errorf("--kind creates its own cluster: drop --kubeconfig/--context, or drop --kind to test that cluster")
	}
	if o.Kind && o.NotKind {
		return fmt.Errorf("--kind creates a kind cluster, --no-kind-detection treats the cluster as foreign: drop one")
	}
	if !o.Kind && o.KindConfig != "" {
		return fmt.Errorf("--kind-config needs --kind")
	}
	if o.RunID == "" {
		o.RunID = NewRunID(time.Now())
	}
	if o.OutputDir == "" {
		o.OutputDir = filepath.Join("kubeproof-results", o.RunID)
	}
	return os.MkdirAll(o.OutputDir, 0o755)
}

// NewRunID names a run: its start time, readable in a listing, and a random
// suffix, so that two runs started in the same second never share labels,
// journal keys, output directories or kind cluster names.
func NewRunID(now time.Time) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}
