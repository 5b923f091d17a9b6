// Package html writes a run's results as the certification report: one
// self-contained HTML file (no scripts, no fetched fonts, styles or images)
// that opens offline, prints to PDF, and embeds the SHA-256 of the results
// it was made from so a reader can check the two belong together.
package html

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/kubeproof/kubeproof/internal/atomicfile"
	"github.com/kubeproof/kubeproof/reporters/internal/figures"
	"github.com/kubeproof/kubeproof/reporters/results"
)

// DigestMeta names the <meta> tag that carries the results digest.
const DigestMeta = "kubeproof-results-sha256"

//go:embed report.html.tmpl
var pageTemplate string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"number":   figures.Number,
	"time":     formatTime,
	"join":     strings.Join,
	"verdict":  results.Mark,
	"plural":   func(n int, word string) string { return fmt.Sprintf("%d %s", n, figures.Plural(n, word)) },
	"notEmpty": func(s []string) bool { return len(s) > 0 },
}).Parse(pageTemplate))

// Write renders the report of run to w.
func Write(run *results.Run, w io.Writer) error {
	digest, err := run.Digest()
	if err != nil {
		return fmt.Errorf("digest results: %w", err)
	}
	if err := page.Execute(w, newView(run, digest)); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	return nil
}

// WriteFile renders the report of run to path. It renders in memory first
// so a failure never leaves half a report behind.
func WriteFile(run *results.Run, path string) error {
	var buf bytes.Buffer
	if err := Write(run, &buf); err != nil {
		return err
	}
	if err := atomicfile.Write(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// ErrNoDigest marks a file without the digest tag: not a kubeproof report.
var ErrNoDigest = errors.New("no " + DigestMeta + " meta tag (not a kubeproof HTML report)")

var digestTag = regexp.MustCompile(`<meta name="` + DigestMeta + `" content="([0-9a-f]{64})">`)

// EmbeddedDigest returns the results digest a report embeds.
func EmbeddedDigest(report io.Reader) (string, error) {
	data, err := io.ReadAll(report)
	if err != nil {
		return "", err
	}
	m := digestTag.FindSubmatch(data)
	if m == nil {
		return "", ErrNoDigest
	}
	return string(m[1]), nil
}

// view is what the template reads: the run, plus what is derived from it.
type view struct {
	Run       *results.Run
	Digest    string
	Certified bool   // the certification verdict, CERTIFIED
	Pass      bool   // the verdict is a pass (CERTIFIED, or "core profile: passed")
	Word      string // the verdict
	Why       string // one line under the verdict
	Counts    results.Summary
	Duration  string
	Areas     []area
	Failed    []check // also listed under the verdict, linked to their place
	Skipped   []results.Check
	// ConformancePassed and ConformanceFailed count the upstream specs.
	ConformancePassed, ConformanceFailed int
}

type area struct {
	Name                    string
	Passed, Failed, Skipped int
	Checks                  []check // passed and failed; skipped ones are listed apart
}

type check struct {
	results.Check
	Anchor string
	Rows   []row
	Charts []figure
}

// row is one measurement as printed; Marker numbers a phase on the timeline.
type row struct {
	Marker int
	Name   string
	Value  string
}

type figure struct {
	SVG     template.HTML
	Caption string
}

const phasePrefix = "phase: "

func newView(run *results.Run, digest string) view {
	counted := *run
	counted.Recount()
	o := run.Outcome()
	v := view{Run: run, Digest: digest, Certified: o.Pass && o.Word == "CERTIFIED", Pass: o.Pass, Word: o.Word, Why: o.Why, Counts: counted.Summary}
	if !run.FinishedAt.IsZero() {
		v.Duration = run.FinishedAt.Sub(run.StartedAt).Round(time.Second).String()
	}

	byName := map[string]*area{}
	var names []string
	for i, c := range run.Checks {
		a := byName[c.Area]
		if a == nil {
			a = &area{Name: c.Area}
			byName[c.Area] = a
			names = append(names, c.Area)
		}
		switch c.Verdict {
		case results.Passed:
			a.Passed++
		case results.Failed:
			a.Failed++
		default:
			a.Skipped++
			v.Skipped = append(v.Skipped, c)
			continue
		}
		a.Checks = append(a.Checks, newCheck(c, fmt.Sprintf("check-%d", i)))
	}
	slices.Sort(names)
	for _, n := range names {
		a := byName[n]
		// Failures first, then by name: Ginkgo's run order is random.
		slices.SortStableFunc(a.Checks, func(x, y check) int {
			if fx, fy := x.Verdict == results.Failed, y.Verdict == results.Failed; fx != fy {
				if fx {
					return -1
				}
				return 1
			}
			return strings.Compare(x.Name, y.Name)
		})
		v.Areas = append(v.Areas, *a)
		if n == results.ConformanceArea {
			v.ConformancePassed, v.ConformanceFailed = a.Passed, a.Failed+a.Skipped
		}
		for _, c := range a.Checks {
			if c.Verdict == results.Failed {
				v.Failed = append(v.Failed, c)
			}
		}
	}
	slices.SortStableFunc(v.Skipped, func(x, y results.Check) int {
		if c := strings.Compare(x.Area, y.Area); c != 0 {
			return c
		}
		return strings.Compare(x.Name, y.Name)
	})
	return v
}

func newCheck(c results.Check, anchor string) check {
	out := check{Check: c, Anchor: anchor}
	var phases []phase
	var curve *results.Measurement
	var steps, latencies []results.Measurement
	for i := range c.Measurements {
		m := c.Measurements[i]
		r := row{Name: m.Name, Value: figures.Value(m.Value, m.Unit)}
		if name, ok := strings.CutPrefix(m.Name, phasePrefix); ok && m.Unit == "s" {
			phases = append(phases, phase{N: len(phases) + 1, Name: name, At: m.Value})
			r.Marker, r.Name = len(phases), name
			if m.Value >= 0 {
				r.Value = "+" + r.Value
			}
		}
		out.Rows = append(out.Rows, r)
		switch {
		case isStepSeries(m):
			steps = append(steps, m)
		case len(m.Series) > 0 && curve == nil:
			curve = &c.Measurements[i]
		case len(m.Series) > 0:
			out.Charts = append(out.Charts, figure{
				SVG:     lineChart("series", m.Name, "seconds", nil, &c.Measurements[i]),
				Caption: m.Name + " over time.",
			})
		case strings.EqualFold(m.Unit, "ms"):
			latencies = append(latencies, m)
		}
	}
	switch {
	case len(phases) > 0:
		caption := "Phases after fault injection (numbered as in the table)."
		if curve != nil {
			caption = fmt.Sprintf("Blue: %s (%s). Red line: fault injected. Numbered markers: phases, as in the table.", curve.Name, curve.Unit)
		}
		timeline := lineChart("timeline", "timeline of "+c.Name, "seconds since fault injection", phases, curve)
		out.Charts = append([]figure{{SVG: timeline, Caption: caption}}, out.Charts...)
	case curve != nil:
		out.Charts = append(out.Charts, figure{SVG: lineChart("series", curve.Name, "seconds", nil, curve), Caption: curve.Name + " over time."})
	}
	if len(steps) > 0 {
		var names []string
		for _, m := range steps {
			names = append(names, m.Name)
		}
		out.Charts = append(out.Charts, figure{SVG: stepChart(strings.Join(names, " and "), steps), Caption: "Pods over the rollout: " + strings.Join(names, "; ") + "."})
	}
	if len(latencies) > 0 {
		out.Charts = append(out.Charts, figure{SVG: barChart("latency", latencies), Caption: "Latency (ms)."})
	}
	return out
}

// isStepSeries: pod counts over a rollout change at events, so they are
// drawn as steps.
func isStepSeries(m results.Measurement) bool {
	name := strings.ToLower(m.Name)
	return len(m.Series) > 0 && (strings.Contains(name, "surge") || strings.Contains(name, "unavailab"))
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}
