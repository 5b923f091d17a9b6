// Package upgradehtml writes an upgrade rehearsal (package upgrade's model)
// as one self-contained HTML page in the look of the run report (package
// html): no scripts, no fetched fonts, styles or images.
package upgradehtml

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kubeproof/kubeproof/internal/atomicfile"
	"github.com/kubeproof/kubeproof/reporters/internal/figures"
	"github.com/kubeproof/kubeproof/reporters/upgrade"
)

//go:embed upgrade.html.tmpl
var pageTemplate string

var page = template.Must(template.New("upgrade").Funcs(template.FuncMap{
	"time":    formatTime,
	"number":  figures.Number,
	"version": version,
	"tone":    tone,
}).Parse(pageTemplate))

// Write renders r to w.
func Write(r *upgrade.Rehearsal, w io.Writer) error {
	if err := page.Execute(w, newView(r)); err != nil {
		return fmt.Errorf("render upgrade report: %w", err)
	}
	return nil
}

// WriteFile renders r to path. It renders in memory first so a failure
// never leaves half a report behind.
func WriteFile(r *upgrade.Rehearsal, path string) error {
	var buf bytes.Buffer
	if err := Write(r, &buf); err != nil {
		return err
	}
	if err := atomicfile.Write(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write upgrade report: %w", err)
	}
	return nil
}

// view is what the template reads: the rehearsal, plus what is derived
// from it.
type view struct {
	R        *upgrade.Rehearsal
	Pass     bool
	Word     string // PASSED or FAILED
	Duration string
	Timeline template.HTML
	Probes   []probe
	Steps    []step
	Pods     []pods
}

type probe struct {
	upgrade.Probe
	ErrorCounts    string
	FailedByCounts string
	Outage         string
	Budget         string // "" when the probe is measured, not judged
}

type step struct {
	upgrade.Step
	Offset string
}

type pods struct {
	upgrade.PodStory
	ByNode string
}

func newView(r *upgrade.Rehearsal) view {
	v := view{R: r, Pass: r.Verdict == "passed", Word: strings.ToUpper(r.Verdict)}
	if v.Word == "" {
		v.Word = "NO VERDICT"
	}
	if !r.Ended.IsZero() {
		v.Duration = r.Ended.Sub(r.Started).Round(time.Second).String()
	}
	if len(r.Steps)+len(r.Probes) > 0 {
		v.Timeline = timeline(r)
	}
	for _, p := range r.Probes {
		row := probe{Probe: p, ErrorCounts: counts(p.Errors), FailedByCounts: counts(p.FailedBy), Outage: fmt.Sprintf("%.1f s", p.LongestOutageSeconds)}
		if p.OutageStart != nil {
			row.Outage += " at " + offset(p.OutageStart.Sub(r.Started).Seconds())
		}
		if p.BudgetSeconds != nil {
			row.Budget = figures.Number(*p.BudgetSeconds) + " s"
		}
		v.Probes = append(v.Probes, row)
	}
	for _, s := range r.Steps {
		v.Steps = append(v.Steps, step{Step: s, Offset: offset(s.Start.Sub(r.Started).Seconds())})
	}
	for _, p := range r.Pods {
		v.Pods = append(v.Pods, pods{PodStory: p, ByNode: counts(p.Nodes)})
	}
	return v
}

// counts prints a map as "key=n, ..." in key order.
func counts(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// offset prints seconds since the rehearsal started: +42s.
func offset(seconds float64) string { return fmt.Sprintf("%+.0fs", seconds) }

// version prints a Kubernetes version with one leading v, whether or not
// the model's string has it.
func version(s string) string {
	if s == "" {
		return "?"
	}
	return "v" + strings.TrimPrefix(s, "v")
}

// tone is the CSS class of a verdict: pass, fail, or none. A profile
// run's verdict is an outcome word such as "core profile: passed".
func tone(verdict string) string {
	v := strings.ToLower(verdict)
	switch {
	case strings.HasSuffix(v, "failed"), strings.HasSuffix(v, "not certified"):
		return "fail"
	case strings.HasSuffix(v, "passed"), strings.HasSuffix(v, "certified"):
		return "pass"
	}
	return ""
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}
