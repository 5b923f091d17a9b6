// Package results is kubeproof's results model: one versioned JSON file per
// run, the single source every report is a view of.
package results

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/kubeproof/kubeproof/internal/atomicfile"
	"github.com/kubeproof/kubeproof/suites/contract"
)

// SchemaVersion identifies this file format; readers refuse other versions.
const SchemaVersion = "kubeproof.io/results/v1"

// Verdicts of a check.
const (
	Passed  = "passed"
	Failed  = "failed"
	Skipped = "skipped"
)

// Mark is a verdict's word in text views: PASS, SKIP, and FAIL for
// anything else (Ginkgo's failed, panicked, timedout, interrupted...).
func Mark(verdict string) string {
	switch verdict {
	case Passed:
		return "PASS"
	case Skipped:
		return "SKIP"
	}
	return "FAIL"
}

// Run is the whole results file.
type Run struct {
	SchemaVersion    string `json:"schemaVersion"`
	RunID            string `json:"runID"`
	KubeproofVersion string `json:"kubeproofVersion"`
	Profile          string `json:"profile,omitempty"`
	// TargetVersion is the version a pre-upgrade run judged the cluster
	// against.
	TargetVersion string    `json:"targetVersion,omitempty"`
	LabelFilter   string    `json:"labelFilter,omitempty"`
	Focus         string    `json:"focus,omitempty"`
	StartedAt     time.Time `json:"startedAt"`
	FinishedAt    time.Time `json:"finishedAt"`
	Cluster       Cluster   `json:"cluster"`
	Summary       Summary   `json:"summary"`
	Checks        []Check   `json:"checks"`
	// LeftOut lists what the profile or filter did not select, and why.
	LeftOut []string `json:"leftOut,omitempty"`
	// Leftovers lists objects or faults the run could not remove.
	Leftovers []string `json:"leftovers,omitempty"`
	// Refused lists the runner's own API requests refused for want of
	// permission (the checks' are in each check).
	Refused []string `json:"refused,omitempty"`
	// Conformance is the upstream conformance suite's run, when this run
	// ran it (`kubeproof run --conformance`): its specs are the checks of
	// area ConformanceArea, each with the upstream failure's first line.
	Conformance *Conformance `json:"conformance,omitempty"`
}

// ConformanceArea is the area of the upstream [Conformance] specs among
// a run's checks.
const ConformanceArea = "conformance"

// Conformance is what the upstream suite's run was, beside its specs.
type Conformance struct {
	// Version is the suite's (e2e.test's) Kubernetes version.
	Version string `json:"version"`
	// Required is how many [Conformance] specs the version has: a
	// certification needs every one of them run and passed.
	Required int `json:"required"`
	// Partial says why the run is not valid for certification (a focus,
	// a skip, a rerun of failed specs); "" for the whole set.
	Partial string  `json:"partial,omitempty"`
	Seconds float64 `json:"seconds"`
	// E2ELog and JUnit are the untouched upstream outputs, relative to
	// the results file's folder.
	E2ELog string `json:"e2eLog"`
	JUnit  string `json:"junit"`
}

// Summary counts the verdicts.
type Summary struct {
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
	// Refused counts the API requests refused for want of permission (RBAC
	// 403), by the checks and the runner: 0 with a role that grants what
	// the profile needs.
	Refused int `json:"refused,omitempty"`
}

// Check is one spec's outcome.
type Check struct {
	// ID is stable across runs: the spec's full text.
	ID      string   `json:"id"`
	Area    string   `json:"area"`
	Name    string   `json:"name"`
	Must    string   `json:"must,omitempty"`
	Labels  []string `json:"labels,omitempty"`
	Verdict string   `json:"verdict"`
	Reason  string   `json:"reason,omitempty"`
	Seconds float64  `json:"seconds"`
	Serial  bool     `json:"serial,omitempty"`
	// Process is the parallel spec process (1..procs) that ran the check.
	Process  int    `json:"process,omitempty"`
	Location string `json:"location,omitempty"`
	// Measurements are the figures the check recorded.
	Measurements []Measurement `json:"measurements,omitempty"`
	// Targets names what a disruptive check broke (node, component).
	Targets     []string `json:"targets,omitempty"`
	Diagnostics string   `json:"diagnostics,omitempty"`
	// Refused lists the API requests refused for want of permission (RBAC
	// 403) while the check ran.
	Refused []string `json:"refused,omitempty"`
	// Warnings are what the check found that does not fail it but must be
	// read (an API only deprecated, not removed).
	Warnings []string `json:"warnings,omitempty"`
}

// Measurement is one recorded figure, with an optional time series.
type Measurement struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Series []Point `json:"series,omitempty"`
}

// Point is one sample of a series, T in seconds from its start.
type Point struct {
	T float64 `json:"t"`
	V float64 `json:"v"`
}

// Cluster is the fingerprint of the cluster under test.
type Cluster struct {
	Context         string `json:"context,omitempty"`
	Server          string `json:"server,omitempty"`
	ServerVersion   string `json:"serverVersion,omitempty"`
	Provider        string `json:"provider,omitempty"`
	CNI             string `json:"cni,omitempty"`
	KubeProxyMode   string `json:"kubeProxyMode,omitempty"`
	Nodes           []Node `json:"nodes,omitempty"`
	KindClusterName string `json:"kindCluster,omitempty"`
	CreatedByRunner bool   `json:"createdByRunner,omitempty"`
	NodeImage       string `json:"nodeImage,omitempty"`
	WorkloadImage   string `json:"workloadImage,omitempty"`
	// WorkloadImageStart: the image pulled and started on every node that
	// runs pods, before any check.
	WorkloadImageStart *ImageStart `json:"workloadImageStart,omitempty"`
}

// ImageStart is how long the workload image took to run on every Ready
// node meant for pods (pulled if needed, scheduled, container running).
type ImageStart struct {
	Seconds float64  `json:"seconds"`
	Nodes   []string `json:"nodes"`
}

// Node describes one node of the fingerprint.
type Node struct {
	Name             string   `json:"name"`
	Roles            []string `json:"roles,omitempty"`
	KubeletVersion   string   `json:"kubeletVersion"`
	OSImage          string   `json:"osImage"`
	KernelVersion    string   `json:"kernelVersion"`
	ContainerRuntime string   `json:"containerRuntime"`
	ProviderID       string   `json:"providerID,omitempty"`
	Ready            bool     `json:"ready"`
}

// Recount recomputes the summary from the checks.
func (r *Run) Recount() {
	r.Summary = Summary{}
	for _, c := range r.Checks {
		switch c.Verdict {
		case Passed:
			r.Summary.Passed++
		case Failed:
			r.Summary.Failed++
		default:
			r.Summary.Skipped++
		}
		r.Summary.Refused += len(c.Refused)
	}
	r.Summary.Refused += len(r.Refused)
}

// NotSelected is the reason of a check the run's selection (profile,
// label filter, focus) left out: not checked by choice, unlike a check
// skipped at run time.
const NotSelected = "not selected (profile, label filter or focus)"

// Outcome is a run's verdict as every view shows it: one word or phrase,
// whether it is a pass, and the line under it.
type Outcome struct {
	Word string
	Pass bool
	Why  string
}

// Outcome says what the run proves. Only the certification profile can
// certify, and only when all its checks were selected (no filter, focus
// or missing consent left one out), ran, and passed (a check not checked
// proves nothing), AND the upstream conformance suite ran whole with every
// required spec passed. Other profiles say "<profile> profile: passed" or
// "failed".
func (r *Run) Outcome() Outcome {
	var passed, failed, confPassed, confFailed int
	var unchecked []string
	for _, c := range r.Checks {
		switch {
		case c.Area == ConformanceArea && c.Verdict == Passed:
			confPassed++
		case c.Area == ConformanceArea:
			confFailed++
		case c.Verdict == Passed:
			passed++
		case c.Verdict == Failed:
			failed++
		case c.Reason != NotSelected:
			unchecked = append(unchecked, c.Name+": "+c.Reason)
		}
	}
	o := Outcome{Pass: failed == 0 && passed > 0 && confFailed == 0}
	switch {
	case failed > 0:
		o.Why = fmt.Sprintf("%d of %d checks failed", failed, passed+failed)
	case passed == 0:
		o.Why = "no check ran: a run that checks nothing proves nothing"
	default:
		o.Why = fmt.Sprintf("all %d checks that ran passed", passed)
	}
	if c := r.Conformance; c != nil {
		o.Why += fmt.Sprintf("; upstream conformance %s: %d of %d required specs passed", c.Version, confPassed, c.Required)
		if confFailed > 0 {
			o.Why += fmt.Sprintf(", %d failed", confFailed)
		}
		if c.Partial != "" {
			o.Why += " (" + c.Partial + ")"
		}
	}
	if len(unchecked) > 0 && r.Profile != "certification" {
		// Not a failure, and not proven either: say which guarantees.
		o.Why += fmt.Sprintf("; %d not checked, %s unproven (%s)", len(unchecked), map[bool]string{true: "its guarantee", false: "their guarantees"}[len(unchecked) == 1], strings.Join(unchecked, "; "))
	}
	if r.Profile != "certification" {
		word := "failed"
		if o.Pass {
			word = "passed"
		}
		o.Word = "selected checks: " + word
		if r.Profile != "" {
			o.Word = r.Profile + " profile: " + word
		}
		if r.TargetVersion != "" {
			o.Word = r.Profile + " profile, to " + r.TargetVersion + ": " + word
		}
		return o
	}
	if len(unchecked) > 0 {
		o.Pass = false
		o.Why += fmt.Sprintf("; %d selected %s not checked (%s)", len(unchecked), map[bool]string{true: "check was", false: "checks were"}[len(unchecked) == 1], strings.Join(unchecked, "; "))
	}
	// The profile whole: a filter, a focus or a missing consent that left
	// checks out proves less than certification asks.
	var narrowed []string
	if r.Focus != "" {
		narrowed = append(narrowed, fmt.Sprintf("--focus %q ran part of the profile", r.Focus))
	}
	for _, l := range r.LeftOut {
		if l != contract.PreUpgradeLeftOut {
			narrowed = append(narrowed, "left out "+l)
		}
	}
	if len(narrowed) > 0 {
		o.Pass = false
		o.Why += "; not valid for certification: " + strings.Join(narrowed, "; ")
	}
	switch c := r.Conformance; {
	case c == nil:
		o.Pass = false
		o.Why += "; the upstream conformance suite did not run, and a certification needs it (--conformance)"
	case c.Partial != "" || confPassed < c.Required:
		o.Pass = false
	}
	o.Word = "NOT CERTIFIED"
	if o.Pass {
		o.Word = "CERTIFIED"
	}
	return o
}

// NodeFailures is one node and the failed checks whose reasons name it.
type NodeFailures struct {
	Node   string
	Checks []string
}

// FailuresByNode groups the failed checks by the nodes their reasons name,
// most first: when every failure names one node, the node is the story.
func (r *Run) FailuresByNode() []NodeFailures {
	var out []NodeFailures
	for _, n := range r.Cluster.Nodes {
		word := regexp.MustCompile(`(^|[^A-Za-z0-9.-])` + regexp.QuoteMeta(n.Name) + `([^A-Za-z0-9-]|$)`)
		nf := NodeFailures{Node: n.Name}
		for _, c := range r.Checks {
			if c.Verdict == Failed && word.MatchString(c.Reason) {
				nf.Checks = append(nf.Checks, c.Name)
			}
		}
		if len(nf.Checks) > 0 {
			out = append(out, nf)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i].Checks) > len(out[j].Checks) })
	return out
}

// Canonical is the byte form the digest is computed over: the JSON
// encoding with two-space indentation and a final newline, as Save writes.
func (r *Run) Canonical() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Digest is the SHA-256 of the canonical encoding, in hex.
func (r *Run) Digest() (string, error) {
	data, err := r.Canonical()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// Save writes the canonical encoding.
func (r *Run) Save(path string) error {
	data, err := r.Canonical()
	if err != nil {
		return err
	}
	return atomicfile.Write(path, data, 0o644)
}

// ErrInvalid marks a file that is not a readable kubeproof results file.
var ErrInvalid = errors.New("not a kubeproof results file")

// Load reads and validates a results file. Its errors name the file and
// the problem in one line.
func Load(path string) (*Run, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var probe struct {
		SchemaVersion *string `json:"schemaVersion"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("%s: %w: invalid or truncated JSON (%v)", path, ErrInvalid, err)
	}
	if probe.SchemaVersion == nil {
		return nil, fmt.Errorf("%s: %w: no schemaVersion field", path, ErrInvalid)
	}
	if *probe.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("%s: %w: unknown schema version %q (this kubeproof reads %q)", path, ErrInvalid, *probe.SchemaVersion, SchemaVersion)
	}
	var run Run
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&run); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", path, ErrInvalid, err)
	}
	if run.RunID == "" {
		return nil, fmt.Errorf("%s: %w: no runID", path, ErrInvalid)
	}
	return &run, nil
}
