package html

import (
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/kubeproof/kubeproof/reporters/internal/figures"
	"github.com/kubeproof/kubeproof/reporters/results"
)

// The charts are SVG written by hand: a report must open offline and years
// later, so it carries no charting library. Every string that comes from
// the results goes through svg.text, which escapes it; that is what makes
// returning the markup as template.HTML safe.

const (
	chartWidth = 760
	plotLeft   = 52
	plotRight  = chartWidth - 20
)

type svg struct{ b strings.Builder }

func newSVG(class, label string, height float64) *svg {
	s := &svg{}
	s.printf(`<svg class="%s" viewBox="0 0 %d %.0f" width="%d" height="%.0f" role="img" aria-label="%s">`,
		class, chartWidth, height, chartWidth, height, template.HTMLEscapeString(label))
	s.printf(`<title>%s</title>`, template.HTMLEscapeString(label))
	return s
}

func (s *svg) printf(format string, args ...any) { fmt.Fprintf(&s.b, format, args...) }

// text writes escaped text; class and anchor are constants of this file.
func (s *svg) text(x, y float64, class, anchor, str string) {
	s.printf(`<text x="%.1f" y="%.1f" class="%s" text-anchor="%s">%s</text>`, x, y, class, anchor, template.HTMLEscapeString(str))
}

// vtext writes escaped text turned to read upwards: a value axis title.
func (s *svg) vtext(x, y float64, class, str string) {
	s.printf(`<text x="%.1f" y="%.1f" class="%s" text-anchor="middle" transform="rotate(-90 %.1f %.1f)">%s</text>`, x, y, class, x, y, template.HTMLEscapeString(str))
}

func (s *svg) line(x1, y1, x2, y2 float64, class string) {
	s.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="%s"/>`, x1, y1, x2, y2, class)
}

func (s *svg) html() template.HTML {
	s.b.WriteString(`</svg>`)
	return template.HTML(s.b.String())
}

// linear maps a domain interval onto a pixel interval.
type linear struct{ d0, d1, r0, r1 float64 }

func (l linear) at(v float64) float64 {
	if l.d1 == l.d0 {
		return l.r0
	}
	return l.r0 + (v-l.d0)/(l.d1-l.d0)*(l.r1-l.r0)
}

// niceTicks widens [lo, hi] to round numbers and returns about n ticks on
// steps of 1, 2 or 5 times a power of ten.
func niceTicks(lo, hi float64, n int) (ticks []float64, step float64) {
	if hi <= lo {
		hi = lo + 1
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step = 10 * mag
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	first, last := math.Floor(lo/step+1e-9), math.Ceil(hi/step-1e-9)
	for i := first; i <= last; i++ {
		ticks = append(ticks, i*step)
	}
	return ticks, step
}

// tickLabel prints a tick with as many decimals as its step needs.
func tickLabel(v, step float64) string {
	decimals := 0
	if step < 1 {
		decimals = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	return fmt.Sprintf("%.*f", decimals, v+0) // +0 turns -0 into 0
}

// phase is one "phase: ..." measurement: a moment after fault injection.
type phase struct {
	N    int
	Name string
	At   float64
}

// yRange is the value axis of a curve: percentages and ratios have a
// natural top, anything else is scaled to its data.
func yRange(m *results.Measurement) (top float64, unit string) {
	switch m.Unit {
	case "%":
		return 100, "%"
	case "ratio":
		return 1, "ratio"
	}
	top = 0
	for _, p := range m.Series {
		top = max(top, p.V)
	}
	if top <= 0 {
		top = 1
	}
	return top, m.Unit
}

// lineChart draws a curve over time, with numbered phase markers and the
// moment of fault injection when phases are given (a scenario timeline).
func lineChart(class, label, xTitle string, phases []phase, curve *results.Measurement) template.HTML {
	lo, hi := 0.0, 0.0
	for _, p := range phases {
		lo, hi = min(lo, p.At), max(hi, p.At)
	}
	if curve != nil {
		for _, p := range curve.Series {
			lo, hi = min(lo, p.T), max(hi, p.T)
		}
	}
	xTicks, xStep := niceTicks(lo, hi, 10)
	x := linear{xTicks[0], xTicks[len(xTicks)-1], plotLeft, plotRight}

	// Phases close together (taint, endpoints, NotReady often land within
	// 100 ms) get stacked marker rows so their numbers stay readable.
	const markerGap, rowHeight = 19.0, 19.0
	rows := markerRows(phases, x, markerGap)
	nRows := 0
	for _, r := range rows {
		nRows = max(nRows, r+1)
	}
	top := 12.0 + float64(nRows)*rowHeight
	const plotHeight = 150.0
	bottom := top + plotHeight
	height := bottom + 42

	s := newSVG(class, label, height)
	// Value axis and grid.
	yTop, yUnit := 1.0, ""
	if curve != nil {
		yTop, yUnit = yRange(curve)
	}
	yTicks, yStep := niceTicks(0, yTop, 4)
	y := linear{yTicks[0], yTicks[len(yTicks)-1], bottom, top}
	for _, t := range yTicks {
		s.line(plotLeft, y.at(t), plotRight, y.at(t), "grid")
		if curve == nil {
			continue
		}
		label := tickLabel(t, yStep)
		if yUnit == "%" {
			label += "%"
		}
		s.text(plotLeft-6, y.at(t)+4, "tick", "end", label)
	}
	if curve != nil && yUnit != "%" {
		s.vtext(14, (top+bottom)/2, "axis-title", yUnit)
	}
	// Time axis.
	for _, t := range xTicks {
		s.line(x.at(t), bottom, x.at(t), bottom+4, "axis")
		s.text(x.at(t), bottom+17, "tick", "middle", tickLabel(t, xStep))
	}
	s.line(plotLeft, bottom, plotRight, bottom, "axis")
	s.text((plotLeft+plotRight)/2, bottom+35, "axis-title", "middle", xTitle)

	if curve != nil && len(curve.Series) > 0 {
		var pts strings.Builder
		for _, p := range curve.Series {
			fmt.Fprintf(&pts, "%.1f,%.1f ", x.at(p.T), y.at(p.V))
		}
		first, last := curve.Series[0], curve.Series[len(curve.Series)-1]
		s.printf(`<polygon class="area" points="%.1f,%.1f %s%.1f,%.1f"/>`, x.at(first.T), bottom, pts.String(), x.at(last.T), bottom)
		s.printf(`<polyline class="curve" points="%s"/>`, strings.TrimSpace(pts.String()))
	}
	if len(phases) > 0 {
		s.line(x.at(0), top, x.at(0), bottom, "fault")
		s.text(x.at(0)+5, bottom-6, "fault-label", "start", "fault injected")
	}
	for i, p := range phases {
		px := x.at(p.At)
		cy := 12.0 + float64(rows[i])*rowHeight
		s.line(px, cy+8, px, bottom, "marker-line")
		s.printf(`<circle class="marker" cx="%.1f" cy="%.1f" r="8.5"><title>%s</title></circle>`, px, cy, template.HTMLEscapeString(fmt.Sprintf("%d. %s at %s s", p.N, p.Name, figures.Number(p.At))))
		s.text(px, cy+3.8, "marker-number", "middle", fmt.Sprint(p.N))
	}
	return s.html()
}

// markerRows assigns each phase the first row in which it keeps gap pixels
// from the marker before it.
func markerRows(phases []phase, x linear, gap float64) []int {
	rows := make([]int, len(phases))
	var lastX []float64 // right-most marker per row
	order := make([]int, len(phases))
	for i := range order {
		order[i] = i
	}
	// Place left to right so rows fill like a reader expects.
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && phases[order[j]].At < phases[order[j-1]].At; j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	for _, i := range order {
		px := x.at(phases[i].At)
		r := 0
		for r < len(lastX) && px-lastX[r] < gap {
			r++
		}
		if r == len(lastX) {
			lastX = append(lastX, px)
		}
		lastX[r] = px
		rows[i] = r
	}
	return rows
}

// stepSeriesClasses style the step series in order; more series cycle.
var stepSeriesClasses = []string{"step-a", "step-b", "step-c"}

// stepChart draws pod counts over time as steps: the counts change at
// events and hold in between, so straight lines would lie.
func stepChart(label string, series []results.Measurement) template.HTML {
	hiT, hiV := 0.0, 1.0
	for _, m := range series {
		for _, p := range m.Series {
			hiT, hiV = max(hiT, p.T), max(hiV, p.V)
		}
	}
	xTicks, xStep := niceTicks(0, hiT, 10)
	x := linear{xTicks[0], xTicks[len(xTicks)-1], plotLeft, plotRight}
	yTicks, yStep := niceTicks(0, math.Ceil(hiV)+0.5, 4)
	if yStep < 1 {
		yTicks, yStep = niceTicks(0, math.Ceil(hiV)+1, int(math.Ceil(hiV))+1)
	}
	const top, plotHeight = 30.0, 120.0
	bottom := top + plotHeight
	y := linear{yTicks[0], yTicks[len(yTicks)-1], bottom, top}

	s := newSVG("steps", label, bottom+42)
	for _, t := range yTicks {
		s.line(plotLeft, y.at(t), plotRight, y.at(t), "grid")
		s.text(plotLeft-6, y.at(t)+4, "tick", "end", tickLabel(t, yStep))
	}
	s.vtext(14, (top+bottom)/2, "axis-title", series[0].Unit)
	for _, t := range xTicks {
		s.line(x.at(t), bottom, x.at(t), bottom+4, "axis")
		s.text(x.at(t), bottom+17, "tick", "middle", tickLabel(t, xStep))
	}
	s.line(plotLeft, bottom, plotRight, bottom, "axis")
	s.text((plotLeft+plotRight)/2, bottom+35, "axis-title", "middle", "seconds since the rollout started")

	legendX := float64(plotLeft)
	for i, m := range series {
		class := stepSeriesClasses[i%len(stepSeriesClasses)]
		// Series that hold the same count would hide each other; a
		// 2-pixel offset keeps both visible without misreading the count.
		off := (float64(i) - float64(len(series)-1)/2) * 2
		var d strings.Builder
		for j, p := range m.Series {
			if j == 0 {
				fmt.Fprintf(&d, "M%.1f %.1f", x.at(p.T), y.at(p.V)+off)
				continue
			}
			fmt.Fprintf(&d, " H%.1f V%.1f", x.at(p.T), y.at(p.V)+off)
		}
		s.printf(`<path class="%s" d="%s"/>`, class, d.String())
		s.line(legendX, 12, legendX+22, 12, class)
		s.text(legendX+28, 16, "legend", "start", m.Name)
		legendX += 28 + 7*float64(len(m.Name)) + 24
	}
	return s.html()
}

// barChart draws one bar per latency figure, labelled above the bar.
func barChart(label string, ms []results.Measurement) template.HTML {
	hi := 0.0
	for _, m := range ms {
		hi = max(hi, m.Value)
	}
	ticks, step := niceTicks(0, hi, 6)
	const left, right = 8.0, chartWidth - 90.0
	x := linear{ticks[0], ticks[len(ticks)-1], left, right}
	const rowHeight, top = 36.0, 6.0
	bottom := top + rowHeight*float64(len(ms))
	s := newSVG("bars", label, bottom+24)
	for _, t := range ticks {
		s.line(x.at(t), top, x.at(t), bottom, "grid")
		s.text(x.at(t), bottom+16, "tick", "middle", tickLabel(t, step))
	}
	for i, m := range ms {
		ry := top + rowHeight*float64(i)
		s.text(left, ry+13, "bar-label", "start", m.Name)
		w := max(x.at(m.Value)-left, 1)
		s.printf(`<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="14" rx="2"/>`, left, ry+18, w)
		s.text(left+w+6, ry+29.5, "bar-value", "start", figures.Value(m.Value, m.Unit))
	}
	s.line(left, bottom, right, bottom, "axis")
	return s.html()
}
