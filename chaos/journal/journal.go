// Package journal keeps, outside the process, one file per active fault:
// written before the fault is injected, removed once it is reverted. A
// crashed or killed run leaves its files behind for `kubeproof chaos
// revert` to act on.
package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/kubeproof/kubeproof/chaos"
	"github.com/kubeproof/kubeproof/internal/atomicfile"
	"github.com/kubeproof/kubeproof/internal/paths"
	"github.com/kubeproof/kubeproof/internal/proc"
)

// Entry is one active (or possibly active) fault.
type Entry struct {
	ID    string `json:"id"`
	RunID string `json:"runID"`
	// Cluster is the cluster the fault is in, recorded once here: the
	// fault's Spec says only what in that cluster it hit.
	Cluster    chaos.Cluster `json:"cluster"`
	Spec       chaos.Spec    `json:"spec"`
	Describe   string        `json:"describe"`
	InjectedAt time.Time     `json:"injectedAt"`
	// PID is the process that injected the fault; Owner names it with its
	// machine ("host/pid"): while it lives, the fault is its to revert.
	PID   int    `json:"pid"`
	Owner string `json:"owner,omitempty"`
}

// Live reports whether the process that injected the fault is still alive
// (and is not this one): its run will revert the fault itself.
func (e Entry) Live() bool { return e.Owner != "" && proc.LiveOwner(e.Owner) }

// Dir is where the journal lives: $KUBEPROOF_JOURNAL_DIR, else faults/ in
// kubeproof's state directory (~/.local/state/kubeproof/faults).
func Dir() string {
	if d := os.Getenv("KUBEPROOF_JOURNAL_DIR"); d != "" {
		return d
	}
	return filepath.Join(paths.StateDir(), "faults")
}

// Record writes the entry durably (write, fsync, rename) before the fault
// is injected.
func Record(e Entry) error {
	if err := os.MkdirAll(Dir(), 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(Dir(), e.ID+".json"), data, 0o644)
}

// Remove deletes a reverted fault's entry.
func Remove(id string) error {
	err := os.Remove(filepath.Join(Dir(), id+".json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// List returns the active entries, oldest first; runID "" means all runs.
// An unreadable entry does not hide the others: they are returned, and
// the error names each file that could not be read (for all runs, since
// an unreadable entry's run is unknown).
func List(runID string) ([]Entry, error) {
	files, err := filepath.Glob(filepath.Join(Dir(), "*.json"))
	if err != nil {
		return nil, err
	}
	var out []Entry
	var unreadable []error
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err == nil {
			var e Entry
			if e, err = decode(data); err == nil {
				if runID == "" || e.RunID == runID {
					out = append(out, e)
				}
				continue
			}
		}
		unreadable = append(unreadable, fmt.Errorf("journal entry %s is unreadable (%v): left in place, inspect or delete it", f, err))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].InjectedAt.Before(out[j].InjectedAt) })
	return out, errors.Join(unreadable...)
}

// decode reads an entry. Entries written before the cluster moved out of
// the spec kept it there, under the same JSON names: a run killed by an
// older kubeproof can still be reverted.
func decode(data []byte) (Entry, error) {
	var e Entry
	if err := json.Unmarshal(data, &e); err != nil {
		return e, err
	}
	if e.Cluster == (chaos.Cluster{}) {
		var old struct {
			Spec chaos.Cluster `json:"spec"`
		}
		if err := json.Unmarshal(data, &old); err != nil {
			return e, err
		}
		e.Cluster = old.Spec
	}
	return e, nil
}

// NewID names an entry: run, kind, node and time, readable in `chaos list`.
func NewID(runID string, s chaos.Spec) string {
	target := s.Node
	if target == "" {
		target = "cluster"
	}
	return strings.NewReplacer("/", "_", " ", "_").Replace(fmt.Sprintf("%s-%s-%s-%d", runID, s.Kind, target, time.Now().UnixNano()))
}
