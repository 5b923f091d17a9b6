// Package summary prints a run's results as a short table on a terminal:
// failures first with their one-line reasons, then the measurements.
package summary

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/kubeproof/kubeproof/reporters/results"
)

// Write prints the summary.
func Write(w io.Writer, run *results.Run) {
	checks := append([]results.Check(nil), run.Checks...)
	rank := map[string]int{results.Failed: 0, results.Passed: 1, results.Skipped: 2}
	sort.SliceStable(checks, func(i, j int) bool { return rank[checks[i].Verdict] < rank[checks[j].Verdict] })
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERDICT\tAREA\tCHECK\tTIME\tDETAIL")
	notSelected := 0
	for _, c := range checks {
		if c.Verdict == results.Skipped && strings.HasPrefix(c.Reason, "not selected") {
			notSelected++
			continue
		}
		if c.Area == results.ConformanceArea && c.Verdict == results.Passed {
			continue // hundreds of them: counted in the verdict, listed in the reports
		}
		detail := c.Reason
		if c.Verdict == results.Passed {
			detail = figures(c)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1fs\t%s\n", results.Mark(c.Verdict), c.Area, c.Name, c.Seconds, detail)
	}
	tw.Flush()
	s := run.Summary
	fmt.Fprintf(w, "\n%d passed, %d failed, %d skipped", s.Passed, s.Failed, s.Skipped-notSelected)
	if notSelected > 0 {
		fmt.Fprintf(w, " (%d more not selected)", notSelected)
	}
	fmt.Fprintf(w, " in %s; run %s\n", run.FinishedAt.Sub(run.StartedAt).Round(100_000_000), run.RunID)
	for _, nf := range run.FailuresByNode() {
		fmt.Fprintf(w, "failed checks naming node %s: %d of %d (%s)\n", nf.Node, len(nf.Checks), s.Failed, strings.Join(nf.Checks, "; "))
	}
	o := run.Outcome()
	fmt.Fprintf(w, "verdict: %s (%s)\n", o.Word, o.Why)
	for _, c := range run.Checks {
		for _, warning := range c.Warnings {
			fmt.Fprintf(w, "warning: %s: %s\n", c.Name, warning)
		}
	}
	for _, l := range run.Leftovers {
		fmt.Fprintf(w, "LEFTOVER: %s\n", l)
	}
	if s.Refused > 0 {
		fmt.Fprintf(w, "refused for want of permission (403): %d API requests, first: %s (`kubeproof rbac --profile %s` prints what the profile needs)\n", s.Refused, firstRefusal(run), run.Profile)
	}
}

// firstRefusal is the first API request the run was refused, runner first.
func firstRefusal(run *results.Run) string {
	if len(run.Refused) > 0 {
		return run.Refused[0]
	}
	for _, c := range run.Checks {
		if len(c.Refused) > 0 {
			return c.Refused[0] + " (check " + c.Name + ")"
		}
	}
	return ""
}

func figures(c results.Check) string {
	var parts []string
	for _, m := range c.Measurements {
		parts = append(parts, fmt.Sprintf("%s %.3g%s", m.Name, m.Value, unit(m.Unit)))
	}
	return strings.Join(parts, "; ")
}

func unit(u string) string {
	if u == "" {
		return ""
	}
	return " " + u
}
