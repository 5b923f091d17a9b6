package diff

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/kubeproof/kubeproof/reporters/internal/figures"
	"github.com/kubeproof/kubeproof/reporters/markdown"
)

// Formats WriteFormat accepts.
var Formats = []string{"table", "markdown", "json"}

// WriteFormat prints the report in one of Formats.
func (r *Report) WriteFormat(w io.Writer, format string, o Options) error {
	switch format {
	case "table":
		return r.WriteTable(w, o)
	case "markdown":
		return r.WriteMarkdown(w, o)
	case "json":
		return r.WriteJSON(w)
	}
	return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

// line is one printed row: a check's verdict change or a measurement move.
type line struct {
	kind, area, what, before, after, detail string
}

// lines flattens the report in its reading order: regressions first.
func (r *Report) lines() []line {
	var out []line
	add := func(kind string, cs []Change) {
		for _, c := range cs {
			after := c.After
			if after == "" && c.Before != "" && kind == "REGRESSED" {
				after = "missing"
			}
			out = append(out, line{kind, c.Area, c.Name, orDash(c.Before), orDash(after), c.Reason})
		}
	}
	add("REGRESSED", r.Regressions)
	add("FIXED", r.Fixes)
	add("NEW", r.Added)
	add("REMOVED", r.Removed)
	add("VERDICT", r.OtherChanges)
	for _, m := range r.Moved {
		out = append(out, line{"MOVED", m.Area, m.Check + ": " + m.Measurement,
			figures.Value(m.Before, m.Unit), figures.Value(m.After, m.Unit), m.Change})
	}
	return out
}

func (r *Report) counts(o Options) string {
	return fmt.Sprintf("%d regressed, %d fixed, %d new, %d removed, %d other verdict changes, %d measurements moved (by more than %.0f%% and at least %s in their unit)",
		len(r.Regressions), len(r.Fixes), len(r.Added), len(r.Removed), len(r.OtherChanges), len(r.Moved), 100*o.Threshold, figures.Value(o.Floor, ""))
}

// WriteTable prints an aligned table for a terminal or a CI log.
func (r *Report) WriteTable(w io.Writer, o Options) error {
	fmt.Fprintf(w, "before: run %s\nafter:  run %s\n\n", r.Before, r.After)
	if r.Empty() {
		_, err := fmt.Fprintln(w, "no differences")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHANGE\tAREA\tCHECK\tBEFORE\tAFTER\tDETAIL")
	for _, l := range r.lines() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", l.kind, l.area, oneLine(l.what), l.before, l.after, oneLine(l.detail))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%s\n", r.counts(o))
	return err
}

// WriteMarkdown prints a table for a pull request comment.
func (r *Report) WriteMarkdown(w io.Writer, o Options) error {
	var b strings.Builder
	title := "no regressions"
	if n := len(r.Regressions); n > 0 {
		title = fmt.Sprintf("❌ %d %s regressed", n, figures.Plural(n, "check"))
	}
	fmt.Fprintf(&b, "### kubeproof diff: %s\n\nrun `%s` → run `%s`\n\n", title, r.Before, r.After)
	if r.Empty() {
		b.WriteString("No differences.\n")
	} else {
		b.WriteString("| Change | Area | Check | Before | After | Detail |\n|---|---|---|---|---|---|\n")
		for _, l := range r.lines() {
			kind := l.kind
			if kind == "REGRESSED" {
				kind = "**REGRESSED**"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", kind, markdown.Cell(l.area), markdown.Cell(l.what),
				markdown.Cell(l.before), markdown.Cell(l.after), markdown.Cell(l.detail))
		}
		fmt.Fprintf(&b, "\n%s\n", r.counts(o))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON prints the report for tools.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
