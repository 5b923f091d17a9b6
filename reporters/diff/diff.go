// Package diff compares two runs' results: which checks regressed or were
// fixed, which appeared or disappeared, and which measurements moved by
// more than noise. Regressions come first because they are what a reader
// of a CI log or a pull request comment must not miss.
package diff

import (
	"fmt"
	"math"

	"github.com/kubeproof/kubeproof/reporters/results"
)

// Options decide when a measurement has moved: by more than Threshold
// relative to its BEFORE value AND by at least Floor in its own unit, so a
// 1.2 ms -> 2 ms jitter does not show up as a 67% change.
type Options struct {
	Threshold float64 // relative, 0.5 = 50%
	Floor     float64 // absolute, in the measurement's unit
}

// DefaultOptions: 50% and one unit.
var DefaultOptions = Options{Threshold: 0.5, Floor: 1}

// Change is one check that differs between the runs.
type Change struct {
	ID     string `json:"id"`
	Area   string `json:"area"`
	Name   string `json:"name"`
	Before string `json:"before,omitempty"` // verdict; empty for a new check
	After  string `json:"after,omitempty"`  // verdict; empty for a removed check
	Reason string `json:"reason,omitempty"` // AFTER's reason (BEFORE's for a removed check)
}

// Move is one measurement that moved beyond the options' bounds.
type Move struct {
	CheckID     string  `json:"checkID"`
	Area        string  `json:"area"`
	Check       string  `json:"check"`
	Measurement string  `json:"measurement"`
	Unit        string  `json:"unit"`
	Before      float64 `json:"before"`
	After       float64 `json:"after"`
	// Relative is (After-Before)/|Before|: ±Inf when Before is 0, NaN when
	// the units differ. JSON cannot hold those, so it carries Change.
	Relative float64 `json:"-"`
	Change   string  `json:"change"` // "+120%", "from 0", "unit changed"
}

// Report is the comparison, in the order it is printed.
type Report struct {
	Before string `json:"before"` // run IDs
	After  string `json:"after"`
	// Regressions: passed before, and failed, skipped or missing after
	// (a check that no longer runs proves nothing any more).
	Regressions []Change `json:"regressions"`
	// Fixes: failed before, passed after.
	Fixes []Change `json:"fixes"`
	Added []Change `json:"added"`
	// Removed: checks that did not pass before and are missing after.
	Removed []Change `json:"removed"`
	// OtherChanges are the remaining verdict changes, from skipped, or
	// failed to skipped: a different selection, not a different cluster.
	OtherChanges []Change `json:"otherChanges"`
	Moved        []Move   `json:"moved"`
}

// HasRegressions reports whether a check that passed before does not now.
func (r *Report) HasRegressions() bool { return len(r.Regressions) > 0 }

// Empty reports whether the runs agree on every check and measurement.
func (r *Report) Empty() bool {
	return len(r.Regressions)+len(r.Fixes)+len(r.Added)+len(r.Removed)+len(r.OtherChanges)+len(r.Moved) == 0
}

// Compare matches checks by ID (the spec's full text, stable across runs)
// and keeps each category in AFTER's check order (BEFORE's for removed).
func Compare(before, after *results.Run, o Options) *Report {
	r := &Report{Before: before.RunID, After: after.RunID,
		Regressions: []Change{}, Fixes: []Change{}, Added: []Change{}, Removed: []Change{}, OtherChanges: []Change{}, Moved: []Move{}}
	old := map[string]results.Check{}
	for _, c := range before.Checks {
		old[c.ID] = c
	}
	seen := map[string]bool{}
	for _, a := range after.Checks {
		seen[a.ID] = true
		b, ok := old[a.ID]
		ch := Change{ID: a.ID, Area: a.Area, Name: a.Name, Before: b.Verdict, After: a.Verdict, Reason: a.Reason}
		switch {
		case !ok:
			r.Added = append(r.Added, ch)
			continue
		case b.Verdict == results.Passed && a.Verdict != results.Passed:
			r.Regressions = append(r.Regressions, ch)
		case b.Verdict == results.Failed && a.Verdict == results.Passed:
			r.Fixes = append(r.Fixes, ch)
		case b.Verdict != a.Verdict:
			r.OtherChanges = append(r.OtherChanges, ch)
		}
		r.Moved = append(r.Moved, moves(b, a, o)...)
	}
	for _, b := range before.Checks {
		if seen[b.ID] {
			continue
		}
		ch := Change{ID: b.ID, Area: b.Area, Name: b.Name, Before: b.Verdict, Reason: b.Reason}
		if b.Verdict == results.Passed {
			ch.Reason = "not in the later run"
			r.Regressions = append(r.Regressions, ch)
			continue
		}
		r.Removed = append(r.Removed, ch)
	}
	return r
}

// moves pairs measurements by name (the n-th of a name with the n-th) and
// keeps those that moved beyond both bounds.
func moves(b, a results.Check, o Options) []Move {
	olds := map[string][]results.Measurement{}
	for _, m := range b.Measurements {
		olds[m.Name] = append(olds[m.Name], m)
	}
	var out []Move
	for _, m := range a.Measurements {
		prev := olds[m.Name]
		if len(prev) == 0 {
			continue
		}
		p := prev[0]
		olds[m.Name] = prev[1:]
		if p.Unit != m.Unit {
			// Different units cannot be compared; say so rather than guess.
			out = append(out, Move{CheckID: a.ID, Area: a.Area, Check: a.Name, Measurement: m.Name, Unit: p.Unit + " -> " + m.Unit, Before: p.Value, After: m.Value, Relative: math.NaN(), Change: "unit changed"})
			continue
		}
		delta := m.Value - p.Value
		rel := math.Inf(1)
		switch {
		case p.Value != 0:
			rel = delta / math.Abs(p.Value)
		case delta == 0:
			rel = 0
		case delta < 0:
			rel = math.Inf(-1)
		}
		if math.Abs(rel) > o.Threshold && math.Abs(delta) >= o.Floor {
			out = append(out, Move{CheckID: a.ID, Area: a.Area, Check: a.Name, Measurement: m.Name, Unit: m.Unit, Before: p.Value, After: m.Value, Relative: rel, Change: relative(rel)})
		}
	}
	return out
}

func relative(rel float64) string {
	if math.IsInf(rel, 0) {
		return "from 0"
	}
	return fmt.Sprintf("%+.0f%%", 100*rel)
}
