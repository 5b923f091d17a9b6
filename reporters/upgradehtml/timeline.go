package upgradehtml

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kubeproof/kubeproof/reporters/upgrade"
)

// The timeline is SVG written by hand, as the run report's charts are (a
// report must open offline and years later). Every string from the model
// goes through svg.text or svg.rect's title, which escape it; that is what
// makes returning the markup as template.HTML safe.

const (
	width     = 960
	plotLeft  = 210 // the left column holds the row labels
	plotRight = width - 16
	labelMax  = 30  // runes in the left column; the tables below have labels whole
	charWidth = 6.2 // about, at the labels' 11.5 px
)

type svg struct{ b strings.Builder }

func (s *svg) printf(format string, args ...any) { fmt.Fprintf(&s.b, format, args...) }

// short cuts a row label to what fits in the left column.
func short(str string) string {
	if utf8.RuneCountInString(str) > labelMax {
		return string([]rune(str)[:labelMax-1]) + "…"
	}
	return str
}

// text writes escaped text; class and anchor are constants of this file.
func (s *svg) text(x, y float64, class, anchor, str string) {
	s.printf(`<text x="%.1f" y="%.1f" class="%s" text-anchor="%s">%s</text>`, x, y, class, anchor, template.HTMLEscapeString(str))
}

func (s *svg) line(x1, y1, x2, y2 float64, class string) {
	s.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="%s"/>`, x1, y1, x2, y2, class)
}

// rect draws a box, with an escaped tooltip when title is set.
func (s *svg) rect(x, y, w, h float64, class, title string) {
	s.printf(`<rect x="%.2f" y="%.1f" width="%.2f" height="%.1f" class="%s">`, x, y, w, h, class)
	if title != "" {
		s.printf(`<title>%s</title>`, template.HTMLEscapeString(title))
	}
	s.printf(`</rect>`)
}

// timeline draws the steps as bars over time and, under them, one row per
// probe with a column per second, crossed by the steps' boundaries.
func timeline(r *upgrade.Rehearsal) template.HTML {
	total := span(r)
	x := func(sec float64) float64 { return plotLeft + max(0, min(sec, total))/total*(plotRight-plotLeft) }
	since := func(t time.Time) float64 { return t.Sub(r.Started).Seconds() }

	const top, lane, laneGap = 8.0, 16.0, 5.0
	const row, stripGap, strip, rowGap = 30.0, 2.0, 4.0, 14.0
	probesTop := top + float64(len(r.Steps))*(lane+laneGap) + 10
	bottom := probesTop + float64(len(r.Probes))*(row+stripGap+strip+rowGap)
	height := bottom + 36

	s := &svg{}
	label := fmt.Sprintf("timeline of the upgrade from %s to %s", version(r.From), version(r.To))
	s.printf(`<svg class="timeline" viewBox="0 0 %d %.0f" width="%d" height="%.0f" role="img" aria-label="%s"><title>%s</title>`,
		width, height, width, height, template.HTMLEscapeString(label), template.HTMLEscapeString(label))

	var bounds []float64
	for i, st := range r.Steps {
		y := top + float64(i)*(lane+laneGap)
		s.text(plotLeft-8, y+lane-4, "label", "end", short(st.Name))
		title := fmt.Sprintf("%s %s: %s, %.1f s", st.Name, st.Node, offset(since(st.Start)), st.Seconds)
		class := "step"
		if st.Error != "" {
			class, title = "step-failed", title+": "+st.Error
		}
		x0, x1 := x(since(st.Start)), x(since(st.Start)+st.Seconds)
		s.rect(x0, y, max(x1-x0, 2), lane, class, title)
		// The node goes in the bar when it fits; the table has it anyway.
		if st.Node != "" && float64(utf8.RuneCountInString(st.Node))*charWidth < x1-x0-8 {
			s.text(x0+4, y+lane-4, "in-bar", "start", st.Node)
		}
		bounds = append(bounds, x0, x1)
	}

	for i, p := range r.Probes {
		y := probesTop + float64(i)*(row+stripGap+strip+rowGap)
		s.text(plotLeft-8, y+row/2+4, "label", "end", short(p.Name))
		s.rect(plotLeft, y, plotRight-plotLeft, row, "idle", "") // grey until a request is seen
		for _, c := range columns(p.Series, row) {
			x0, x1 := x(float64(c.from)), x(float64(c.to))
			if c.green > 0 {
				s.rect(x0, y+row-c.green, x1-x0, c.green, "ok", "")
			}
			if c.failed == 0 {
				continue
			}
			s.rect(x0, y, x1-x0, row-c.green, "failed", "")
			// A strip under the row at least 2 px wide, so that one failed
			// request in a long rehearsal still shows.
			s.rect(x0, y+row+stripGap, max(x1-x0, 2), strip, "failed",
				fmt.Sprintf("%s: %d failed from %s to %s", p.Name, c.failed, offset(float64(c.from)), offset(float64(c.to))))
		}
	}

	// Step boundaries over everything, so a reader sees which step an
	// outage falls in.
	for _, bx := range bounds {
		s.line(bx, top-4, bx, bottom-rowGap+2, "boundary")
	}

	axis := bottom - rowGap + 6
	s.line(plotLeft, axis, plotRight, axis, "axis")
	tick := tickStep(total)
	for t := 0.0; t <= total+1e-9; t += tick {
		s.line(x(t), axis, x(t), axis+4, "axis")
		s.text(x(t), axis+16, "tick", "middle", fmt.Sprintf("%.0f", t))
	}
	s.text((plotLeft+plotRight)/2, axis+30, "axis-title", "middle", "seconds since the rehearsal started")
	s.printf(`</svg>`)
	return template.HTML(s.b.String())
}

// span is the time axis in seconds: the rehearsal, stretched if a step or
// a probe's series runs past its end (or it has none).
func span(r *upgrade.Rehearsal) float64 {
	total := 0.0
	if !r.Ended.IsZero() {
		total = r.Ended.Sub(r.Started).Seconds()
	}
	for _, st := range r.Steps {
		total = max(total, st.Start.Sub(r.Started).Seconds()+st.Seconds)
	}
	for _, p := range r.Probes {
		for _, pt := range p.Series {
			total = max(total, float64(pt.Second+1))
		}
	}
	return max(total, 1)
}

// tickStep is 1, 2 or 5 times a power of ten seconds, for about ten ticks.
func tickStep(total float64) float64 {
	raw := total / 10
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			return max(m*mag, 1)
		}
	}
	return max(10*mag, 1)
}

// column is a run of seconds [from, to) drawn alike: green is the height
// of the answered share, failed the failed requests in the run.
type column struct {
	from, to int
	green    float64
	failed   int
}

// columns merges neighbouring seconds that draw the same, which keeps a
// long rehearsal's page small.
func columns(series []upgrade.Point, height float64) []column {
	var cs []column
	for _, p := range series {
		n := p.OK + p.Failed
		if n == 0 {
			continue
		}
		green := math.Round(height*float64(p.OK)/float64(n)*2) / 2
		if k := len(cs) - 1; k >= 0 && cs[k].to == p.Second && cs[k].green == green && (cs[k].failed > 0) == (p.Failed > 0) {
			cs[k].to++
			cs[k].failed += p.Failed
			continue
		}
		cs = append(cs, column{from: p.Second, to: p.Second + 1, green: green, failed: p.Failed})
	}
	return cs
}
