package contract

import (
	"encoding/json"
	"os"
	"time"
)

// ProgressEvent is one line of the progress file: the suites append one
// per finished spec, the runner tails it.
type ProgressEvent struct {
	// Start marks the line written before the first spec, with Total, the
	// number of specs that will run.
	Start bool `json:"start,omitempty"`
	Total int  `json:"total,omitempty"`
	// Spec, State and Seconds describe a finished spec.
	Spec    string  `json:"spec,omitempty"`
	State   string  `json:"state,omitempty"`
	Seconds float64 `json:"seconds,omitempty"`
	Reason  string  `json:"reason,omitempty"`
	At      string  `json:"at"`
}

// AppendProgress appends one event to the progress file; O_APPEND keeps
// the lines of parallel processes whole. Progress is a convenience: an
// error is returned for the caller to log, never to fail a spec.
func AppendProgress(path string, ev ProgressEvent) error {
	ev.At = time.Now().UTC().Format(time.RFC3339Nano)
	data, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Report entry names: what a check records in its Ginkgo report for the
// results model (reporters/results) to read.
const (
	EntryMust        = "kubeproof.must"
	EntryMeasurement = "kubeproof.measurement"
	EntryDiagnostics = "kubeproof.diagnostics"
	EntryTargets     = "kubeproof.targets"
	// EntryRefused lists the API requests refused for want of permission
	// while the check ran (RBAC 403s).
	EntryRefused = "kubeproof.refused"
	// EntryWarning is something a passing check found worth telling: not a
	// failure, not silence either.
	EntryWarning = "kubeproof.warning"
)
