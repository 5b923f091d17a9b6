package results

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/kubeproof/kubeproof/suites/contract"
	"github.com/onsi/ginkgo/v2/types"
)

// LoadGinkgoReport reads the JSON report `ginkgo --json-report` wrote.
func LoadGinkgoReport(path string) ([]types.Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var reports []types.Report
	if err := json.Unmarshal(data, &reports); err != nil {
		return nil, fmt.Errorf("ginkgo report %s: %w", path, err)
	}
	return reports, nil
}

// ChecksFromGinkgo turns Ginkgo's spec reports into checks: every It, plus
// any setup node that failed (its failure stops the specs after it).
func ChecksFromGinkgo(reports []types.Report) []Check {
	var checks []Check
	for _, r := range reports {
		for _, s := range r.SpecReports {
			if s.LeafNodeType != types.NodeTypeIt && !s.Failed() {
				continue
			}
			checks = append(checks, checkFrom(s))
		}
	}
	return checks
}

func checkFrom(s types.SpecReport) Check {
	c := Check{
		ID:       s.FullText(),
		Name:     s.LeafNodeText,
		Labels:   s.Labels(),
		Seconds:  s.RunTime.Seconds(),
		Serial:   s.IsSerial,
		Process:  s.ParallelProcess,
		Location: s.LeafNodeLocation.String(),
	}
	if c.Name == "" {
		c.Name, c.ID = s.LeafNodeType.String(), s.LeafNodeType.String()
	}
	c.Area = "suite"
	for _, l := range c.Labels {
		if a, ok := strings.CutPrefix(l, "area:"); ok {
			c.Area = a
			break
		}
	}
	switch {
	case s.State == types.SpecStatePassed:
		c.Verdict = Passed
	case s.State == types.SpecStateSkipped || s.State == types.SpecStatePending:
		c.Verdict = Skipped
		c.Reason = firstLine(s.Failure.Message)
		if c.Reason == "" {
			c.Reason = NotSelected
		}
	default:
		c.Verdict = Failed
		c.Reason = firstLine(s.Failure.Message)
		if c.Reason == "" {
			c.Reason = s.State.String()
		}
		if s.State == types.SpecStateInterrupted {
			c.Reason = "interrupted: " + c.Reason
		}
	}
	for _, e := range s.ReportEntries {
		switch e.Name {
		case contract.EntryMust:
			_ = json.Unmarshal([]byte(e.Value.AsJSON), &c.Must)
		case contract.EntryDiagnostics:
			_ = json.Unmarshal([]byte(e.Value.AsJSON), &c.Diagnostics)
		case contract.EntryTargets:
			var t []string
			if json.Unmarshal([]byte(e.Value.AsJSON), &t) == nil {
				c.Targets = append(c.Targets, t...)
			}
		case contract.EntryWarning:
			var w string
			if json.Unmarshal([]byte(e.Value.AsJSON), &w) == nil {
				c.Warnings = append(c.Warnings, w)
			}
		case contract.EntryRefused:
			var r []string
			if json.Unmarshal([]byte(e.Value.AsJSON), &r) == nil {
				c.Refused = append(c.Refused, r...)
			}
		case contract.EntryMeasurement:
			var m Measurement
			if json.Unmarshal([]byte(e.Value.AsJSON), &m) == nil {
				c.Measurements = append(c.Measurements, m)
			}
		}
	}
	return c
}

// firstLine keeps a failure reason to its first line: the specs put what
// was expected, seen and where on it; the rest is detail for the log.
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}
