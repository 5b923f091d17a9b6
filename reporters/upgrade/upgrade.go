// Package upgrade is the model of an upgrade rehearsal: upgrade.json, the
// single source its views (the HTML upgrade report, the terminal summary)
// read. Versioned like results.json.
package upgrade

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// SchemaVersion changes with every change to the model that a reader of
// upgrade.json would notice.
const SchemaVersion = "kubeproof.io/upgrade/v1"

// Rehearsal is one `kubeproof upgrade rehearse`.
type Rehearsal struct {
	SchemaVersion string `json:"schemaVersion"`
	RunID         string `json:"runID"`
	// Cluster is the kind cluster's name; Namespace holds the workloads.
	Cluster   string    `json:"cluster"`
	Namespace string    `json:"namespace"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	Profile   string    `json:"profile"`
	Started   time.Time `json:"started"`
	Ended     time.Time `json:"ended"`
	// Verdict is "passed" or "failed"; Findings say why, worst first.
	Verdict  string    `json:"verdict"`
	Findings []Finding `json:"findings"`
	// Before and After are the profile's runs on either side.
	Before ProfileRun `json:"before"`
	After  ProfileRun `json:"after"`
	// Diff is the first line of `report diff` of Before and After.
	Diff    string     `json:"diff"`
	Steps   []Step     `json:"steps"`
	Probes  []Probe    `json:"probes"`
	Objects []Object   `json:"objects"`
	Pods    []PodStory `json:"pods"`
}

// Finding is one reason the rehearsal failed, as one line.
type Finding struct {
	// Kind orders findings: lost (an object or its data), profile,
	// downtime, skew, step, workload.
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// ProfileRun is a `kubeproof run` of the chosen profile.
type ProfileRun struct {
	Dir     string `json:"dir"`
	Version string `json:"version"`
	Verdict string `json:"verdict"`
	Passed  int    `json:"passed"`
	Failed  int    `json:"failed"`
	// Error is set when the run could not be made at all.
	Error string `json:"error,omitempty"`
}

// Step is one timed step of the upgrade.
type Step struct {
	Name  string    `json:"name"`
	Node  string    `json:"node,omitempty"`
	Start time.Time `json:"start"`
	// Seconds is the step's wall time.
	Seconds float64 `json:"seconds"`
	// Skew is every node's kubelet version and the API server's, seen at
	// the end of the step.
	Skew  string `json:"skew"`
	Error string `json:"error,omitempty"`
}

// Probe is one continuous probe: its budget, totals and series.
type Probe struct {
	// Name such as clusterip/web, nodeport/web, dns, apiserver/new-connections.
	Name string `json:"name"`
	// What the probe does, in one line.
	Description string `json:"description"`
	Requests    int    `json:"requests"`
	Failed      int    `json:"failed"`
	// Errors counts the failures by class, FailedBy by where the requests
	// came from ("node NAME", "this machine").
	Errors   map[string]int `json:"errors,omitempty"`
	FailedBy map[string]int `json:"failedBy,omitempty"`
	// Detail is what else the probe saw, in one line (a watch's relists).
	Detail string `json:"detail,omitempty"`
	// LongestOutageSeconds is the longest run of consecutive failed
	// requests, from the first to the next answer, in seconds.
	LongestOutageSeconds float64 `json:"longestOutageSeconds"`
	// OutageStart is when that outage began (nil: none).
	OutageStart *time.Time `json:"outageStart,omitempty"`
	// BudgetSeconds is the downtime allowed (nil: measured, not judged);
	// a budget of 0 allows no failed request. BudgetSource says where the
	// budget comes from.
	BudgetSeconds *float64 `json:"budgetSeconds,omitempty"`
	BudgetSource  string   `json:"budgetSource"`
	WithinBudget  bool     `json:"withinBudget"`
	// Series is one point per second from the rehearsal's start.
	Series []Point `json:"series"`
}

// Point is one second of a probe.
type Point struct {
	// Second since the rehearsal's start.
	Second int `json:"second"`
	OK     int `json:"ok"`
	Failed int `json:"failed"`
}

// Object is one long-lived object compared before and after the upgrade.
type Object struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Before and After are what was compared: UID, generation, the data's
	// digest, a PVC's volume.
	Before string `json:"before"`
	After  string `json:"after"`
	// Changed says what differs ("" for nothing).
	Changed string `json:"changed,omitempty"`
}

// PodStory is what the upgrade did to the pods of one workload: the
// rehearsal's and kube-system's.
type PodStory struct {
	// Owner is NAMESPACE/KIND/NAME.
	Owner     string `json:"owner"`
	Evictions int    `json:"evictions"`
	// Restarts are container restarts of the workload's pods at the end.
	Restarts int `json:"restarts"`
	// Pods at the end, by node.
	Nodes map[string]int `json:"nodes"`
}

// Load reads an upgrade.json.
func Load(path string) (*Rehearsal, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Rehearsal
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("%s: schema %q, want %q", path, r.SchemaVersion, SchemaVersion)
	}
	return &r, nil
}
