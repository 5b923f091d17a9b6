// Package markdown writes a short Markdown summary of a run for places
// that render Markdown: a CI step summary or a pull request comment. The
// HTML report is the full view; this is the part a reviewer reads first.
package markdown

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/kubeproof/kubeproof/reporters/internal/figures"
	"github.com/kubeproof/kubeproof/reporters/results"
)

const phasePrefix = "phase: "

// Write prints the summary: verdict, counts, failed checks with their
// reasons, the key measurements, what was left out and any leftovers.
func Write(w io.Writer, run *results.Run) error {
	counted := *run
	counted.Recount()
	n := counted.Summary
	// Grouped by area, in run order within one, as the other views list them.
	checks := slices.Clone(run.Checks)
	slices.SortStableFunc(checks, func(a, b results.Check) int { return strings.Compare(a.Area, b.Area) })
	digest, err := run.Digest()
	if err != nil {
		return fmt.Errorf("digest results: %w", err)
	}

	var b strings.Builder
	outcome := run.Outcome()
	verdict := "✅ " + outcome.Word
	if !outcome.Pass {
		verdict = "❌ " + outcome.Word
	}
	if run.Profile == "certification" {
		verdict += " for profile `certification`"
	}
	fmt.Fprintf(&b, "## kubeproof: %s\n\n%s.\n\n", verdict, outcome.Why)
	fmt.Fprintf(&b, "**%d passed**, **%d failed**, %d skipped · run `%s`", n.Passed, n.Failed, n.Skipped, run.RunID)
	if c := run.Cluster; c.ServerVersion != "" {
		fmt.Fprintf(&b, " · Kubernetes %s, %d nodes", Cell(c.ServerVersion), len(c.Nodes))
		if c.Provider != "" || c.CNI != "" {
			fmt.Fprintf(&b, " (%s)", Cell(strings.Trim(c.Provider+", "+c.CNI, ", ")))
		}
	}
	if !run.FinishedAt.IsZero() {
		fmt.Fprintf(&b, " · %s", run.FinishedAt.Sub(run.StartedAt).Round(time.Second))
	}
	b.WriteString("\n")

	if n.Failed > 0 {
		b.WriteString("\n### Failed checks\n\n| Area | Check | Reason |\n|---|---|---|\n")
		for _, c := range checks {
			if c.Verdict == results.Failed {
				fmt.Fprintf(&b, "| %s | %s | %s |\n", Cell(c.Area), Cell(c.Name), Cell(c.Reason))
			}
		}
	}

	if rows := keyMeasurements(checks); len(rows) > 0 {
		b.WriteString("\n### Key measurements\n\n| Area | Check | Measurement | Value |\n|---|---|---|---:|\n")
		for _, r := range rows {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", Cell(r[0]), Cell(r[1]), Cell(r[2]), Cell(r[3]))
		}
	}

	if len(run.LeftOut) > 0 {
		b.WriteString("\n**Left out:** ")
		for i, l := range run.LeftOut {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(Cell(l))
		}
		b.WriteString("\n")
	}
	if len(run.Leftovers) > 0 {
		b.WriteString("\n**⚠️ Leftovers** (remove with `kubeproof cleanup` / `kubeproof chaos revert`):\n\n")
		for _, l := range run.Leftovers {
			fmt.Fprintf(&b, "- %s\n", Cell(l))
		}
	}
	fmt.Fprintf(&b, "\n<sub>results SHA-256 `%s`</sub>\n", digest)
	_, err = io.WriteString(w, b.String())
	return err
}

// keyMeasurements lists the figures of checks that ran. A scenario's phase
// timeline shrinks to its last phase (the time to full recovery); the
// timeline itself is drawn in the HTML report.
func keyMeasurements(checks []results.Check) [][4]string {
	var rows [][4]string
	for _, c := range checks {
		if c.Verdict == results.Skipped {
			continue
		}
		var last *results.Measurement
		phases := 0
		for i, m := range c.Measurements {
			if strings.HasPrefix(m.Name, phasePrefix) {
				phases++
				if last == nil || m.Value > last.Value {
					last = &c.Measurements[i]
				}
				continue
			}
			rows = append(rows, [4]string{c.Area, c.Name, m.Name, figures.Value(m.Value, m.Unit)})
		}
		if last != nil {
			name := fmt.Sprintf("last of %d phases: %s", phases, strings.TrimPrefix(last.Name, phasePrefix))
			rows = append(rows, [4]string{c.Area, c.Name, name, "+" + figures.Value(last.Value, last.Unit)})
		}
	}
	return rows
}

// Cell makes text safe inside a Markdown table cell: one line, no column
// breaks, and no raw HTML (a MUST statement may say "<service>").
func Cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	r := strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "&", "&amp;")
	return r.Replace(s)
}
