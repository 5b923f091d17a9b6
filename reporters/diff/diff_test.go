package diff

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/kubeproof/kubeproof/reporters/results"
)

// testdata/before.json is a real core networking run (9 checks passed).
const beforeFile = "testdata/before.json"

const (
	regressing = "pod-to-pod across every pair of nodes over HTTP and UDP"
	latency    = "cross-node HTTP request latency (mean)"
)

// pair returns the real run and a copy of it in which one check fails and
// edit has been applied.
func pair(t *testing.T, edit func(after *results.Run)) (before, after *results.Run) {
	t.Helper()
	before, err := results.Load(beforeFile)
	if err != nil {
		t.Fatal(err)
	}
	after, err = results.Load(beforeFile)
	if err != nil {
		t.Fatal(err)
	}
	after.RunID = "20261126-090000"
	c := find(t, after, regressing)
	c.Verdict, c.Reason = results.Failed, "pod client on dev-worker -> 10.244.2.7:8080 over UDP: want a reply within 2s, got Timeout after 2s"
	if edit != nil {
		edit(after)
	}
	return before, after
}

func find(t *testing.T, run *results.Run, name string) *results.Check {
	t.Helper()
	for i := range run.Checks {
		if run.Checks[i].Name == name {
			return &run.Checks[i]
		}
	}
	t.Fatalf("no check %q in %s", name, run.RunID)
	return nil
}

func TestRegressionComesFirst(t *testing.T) {
	before, after := pair(t, func(after *results.Run) {
		// Something of every other kind, so the order is tested too.
		after.Checks = append(after.Checks, results.Check{ID: "new", Area: "networking", Name: "a new check", Verdict: results.Passed})
		find(t, after, "Service A records").ID = "renamed"
	})
	r := Compare(before, after, DefaultOptions)
	// The renamed check passed before and is missing after: a regression
	// too, after the one that failed.
	if !r.HasRegressions() || len(r.Regressions) != 2 || r.Regressions[0].Name != regressing || r.Regressions[1].Name != "Service A records" || r.Regressions[1].After != "" {
		t.Fatalf("regressions = %+v, want %q failed, then Service A records missing", r.Regressions, regressing)
	}
	if c := r.Regressions[0]; c.Before != results.Passed || c.After != results.Failed || !strings.Contains(c.Reason, "Timeout after 2s") {
		t.Errorf("regression = %+v: want passed -> failed with AFTER's reason", c)
	}
	if len(r.Added) != 2 || len(r.Removed) != 0 {
		t.Errorf("added %d (want the new and the renamed check), removed %d (want 0: the one that disappeared passed before)", len(r.Added), len(r.Removed))
	}

	var table bytes.Buffer
	if err := r.WriteTable(&table, DefaultOptions); err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(table.String(), "\n")
	header := -1
	for i, l := range rows {
		if strings.HasPrefix(l, "CHANGE") {
			header = i
			break
		}
	}
	if header < 0 || !strings.HasPrefix(rows[header+1], "REGRESSED") || !strings.Contains(rows[header+1], regressing) {
		t.Errorf("the first row after the header is not the regression:\n%s", table.String())
	}
	if !strings.Contains(rows[header+1], "passed") || !strings.Contains(rows[header+1], "failed") {
		t.Errorf("the regression row does not print before and after: %q", rows[header+1])
	}

	var md bytes.Buffer
	if err := r.WriteMarkdown(&md, DefaultOptions); err != nil {
		t.Fatal(err)
	}
	if i, j := strings.Index(md.String(), "REGRESSED"), strings.Index(md.String(), "| NEW"); i < 0 || j < 0 || i > j {
		t.Errorf("markdown does not list the regression before the new checks:\n%s", md.String())
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var decoded Report
	if err := json.Unmarshal(js.Bytes(), &decoded); err != nil || len(decoded.Regressions) != 2 {
		t.Errorf("JSON output does not round-trip with its regression: %v\n%s", err, js.String())
	}
}

func TestFixedIsNotARegression(t *testing.T) {
	before, after := pair(t, nil)
	r := Compare(after, before, DefaultOptions) // the failing run first
	if r.HasRegressions() || len(r.Fixes) != 1 || r.Fixes[0].Name != regressing {
		t.Errorf("regressions %+v, fixes %+v: want one fix and no regression", r.Regressions, r.Fixes)
	}
}

func TestIdenticalRunsDoNotDiffer(t *testing.T) {
	before, _ := pair(t, nil)
	r := Compare(before, before, DefaultOptions)
	if !r.Empty() {
		t.Errorf("a run compared with itself differs: %+v", r)
	}
}

func TestMeasurementsMoveBeyondThresholdAndFloor(t *testing.T) {
	setLatency := func(ms float64) func(*results.Run) {
		return func(after *results.Run) { find(t, after, regressing).Measurements[0].Value = ms }
	}
	// BEFORE's latency is 1.5105 ms.
	for _, tc := range []struct {
		name  string
		after float64
		o     Options
		moved bool
	}{
		{"+59% but under the 1 ms floor", 2.4, DefaultOptions, false},
		{"+178% and 2.7 ms", 4.2, DefaultOptions, true},
		{"+59% with a lower floor", 2.4, Options{Threshold: 0.5, Floor: 0.5}, true},
		{"+32%, under the threshold", 2.0, Options{Threshold: 0.5, Floor: 0}, false},
		{"-60% counts as well", 0.6, Options{Threshold: 0.5, Floor: 0.1}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, after := pair(t, setLatency(tc.after))
			r := Compare(before, after, tc.o)
			if got := len(r.Moved) == 1; got != tc.moved {
				t.Fatalf("moved = %+v, want moved %t", r.Moved, tc.moved)
			}
			if tc.moved {
				m := r.Moved[0]
				if m.Measurement != latency || m.Before != 1.5105 || m.After != tc.after || m.Unit != "ms" {
					t.Errorf("move = %+v", m)
				}
			}
		})
	}
}

func TestMoveFromZero(t *testing.T) {
	before := &results.Run{RunID: "a", Checks: []results.Check{{ID: "c", Verdict: results.Passed, Measurements: []results.Measurement{{Name: "restarts", Value: 0, Unit: "restarts"}}}}}
	after := &results.Run{RunID: "b", Checks: []results.Check{{ID: "c", Verdict: results.Passed, Measurements: []results.Measurement{{Name: "restarts", Value: 3, Unit: "restarts"}}}}}
	r := Compare(before, after, DefaultOptions)
	if len(r.Moved) != 1 || !math.IsInf(r.Moved[0].Relative, 1) || r.Moved[0].Change != "from 0" {
		t.Errorf("moved = %+v: want one move from 0", r.Moved)
	}
}

func TestPassedToSkippedIsARegression(t *testing.T) {
	before, after := pair(t, func(after *results.Run) {
		c := find(t, after, "Service A records")
		c.Verdict, c.Reason = results.Skipped, "needs 2 schedulable nodes, the cluster has 1"
	})
	r := Compare(before, after, DefaultOptions)
	var names []string
	skipped := false
	for _, c := range r.Regressions {
		names = append(names, c.Name+" "+c.After)
		skipped = skipped || (c.Name == "Service A records" && c.After == results.Skipped)
	}
	if len(r.Regressions) != 2 || !skipped {
		t.Errorf("regressions %v: want the failed check and Service A records passed -> skipped", names)
	}
	var table bytes.Buffer
	if err := r.WriteTable(&table, DefaultOptions); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "needs 2 schedulable nodes") {
		t.Errorf("the skipped regression must say why it was skipped:\n%s", table.String())
	}
}
