package framework

import (
	"fmt"

	"github.com/onsi/ginkgo/v2"

	"github.com/kubeproof/kubeproof/reporters/results"
	"github.com/kubeproof/kubeproof/suites/contract"
)

// Measurement and Point are the results model's own types: what a check
// records is what the results file carries.
type (
	Measurement = results.Measurement
	Point       = results.Point
)

// Measure records a figure for the results file and the report.
func Measure(name string, value float64, unit string) {
	ginkgo.AddReportEntry(contract.EntryMeasurement, Measurement{Name: name, Value: value, Unit: unit})
}

// MeasureSeries records a figure together with the series behind it.
func MeasureSeries(name string, value float64, unit string, series []Point) {
	ginkgo.AddReportEntry(contract.EntryMeasurement, Measurement{Name: name, Value: value, Unit: unit, Series: series}, ginkgo.ReportEntryVisibilityNever)
}

// Warn records a warning: what the check found that does not fail it
// but that its reader must see (the summary and the report show it).
func Warn(format string, args ...any) {
	ginkgo.AddReportEntry(contract.EntryWarning, fmt.Sprintf(format, args...), ginkgo.ReportEntryVisibilityNever)
}

// Failf fails the spec with a one-line reason: what was expected, what was
// seen, and which objects.
func Failf(format string, args ...any) {
	ginkgo.GinkgoHelper()
	ginkgo.Fail(fmt.Sprintf(format, args...))
}
