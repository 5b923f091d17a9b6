package framework

import (
	"fmt"

	"github.com/onsi/ginkgo/v2"

	"github.com/kubeproof/kubeproof/reporters/results"
)

// Report entry names the results model reads.
const (
	EntryMust        = "kubeproof.must"
	EntryMeasurement = "kubeproof.measurement"
	EntryDiagnostics = "kubeproof.diagnostics"
	EntryTargets     = "kubeproof.targets"
)

// Check declares a conformance-style spec: an It whose report carries the
// statement of what MUST hold. args are Ginkgo decorators (labels, Serial)
// and, last, the body: func(ginkgo.SpecContext).
func Check(name, must string, args ...any) bool {
	if len(args) == 0 {
		panic("framework.Check " + name + ": no body")
	}
	body, ok := args[len(args)-1].(func(ginkgo.SpecContext))
	if !ok {
		panic(fmt.Sprintf("framework.Check %s: last argument must be func(ginkgo.SpecContext), got %T", name, args[len(args)-1]))
	}
	wrapped := func(ctx ginkgo.SpecContext) {
		ginkgo.AddReportEntry(EntryMust, must, ginkgo.ReportEntryVisibilityNever)
		body(ctx)
	}
	return ginkgo.It(name, append(args[:len(args)-1:len(args)-1], wrapped)...)
}

// Measurement and Point are the results model's own types: what a check
// records is what the results file carries.
type (
	Measurement = results.Measurement
	Point       = results.Point
)

// Measure records a figure for the results file and the report.
func Measure(name string, value float64, unit string) {
	ginkgo.AddReportEntry(EntryMeasurement, Measurement{Name: name, Value: value, Unit: unit})
}

// MeasureSeries records a figure together with the series behind it.
func MeasureSeries(name string, value float64, unit string, series []Point) {
	ginkgo.AddReportEntry(EntryMeasurement, Measurement{Name: name, Value: value, Unit: unit, Series: series}, ginkgo.ReportEntryVisibilityNever)
}

// Failf fails the spec with a one-line reason: what was expected, what was
// seen, and which objects.
func Failf(format string, args ...any) {
	ginkgo.GinkgoHelper()
	ginkgo.Fail(fmt.Sprintf(format, args...))
}
