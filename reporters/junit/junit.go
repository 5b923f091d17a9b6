// Package junit writes a run's results as JUnit XML, the format CI systems
// read: one testsuite per area, one testcase per check.
package junit

import (
	"encoding/xml"
	"fmt"
	"sort"
	"strings"

	"github.com/kubeproof/kubeproof/internal/atomicfile"
	"github.com/kubeproof/kubeproof/reporters/results"
)

type testsuites struct {
	XMLName  xml.Name    `xml:"testsuites"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     float64     `xml:"time,attr"`
	Suites   []testsuite `xml:"testsuite"`
}

type testsuite struct {
	Name       string     `xml:"name,attr"`
	Tests      int        `xml:"tests,attr"`
	Failures   int        `xml:"failures,attr"`
	Skipped    int        `xml:"skipped,attr"`
	Time       float64    `xml:"time,attr"`
	Timestamp  string     `xml:"timestamp,attr"`
	Properties []property `xml:"properties>property,omitempty"`
	Cases      []testcase `xml:"testcase"`
}

type property struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type testcase struct {
	Name      string   `xml:"name,attr"`
	Classname string   `xml:"classname,attr"`
	Time      float64  `xml:"time,attr"`
	Failure   *message `xml:"failure,omitempty"`
	Skipped   *message `xml:"skipped,omitempty"`
	SystemOut string   `xml:"system-out,omitempty"`
}

type message struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// Write renders the run to path.
func Write(run *results.Run, path string) error {
	byArea := map[string]*testsuite{}
	for _, c := range run.Checks {
		s := byArea[c.Area]
		if s == nil {
			s = &testsuite{Name: "kubeproof/" + c.Area, Timestamp: run.StartedAt.UTC().Format("2006-01-02T15:04:05")}
			byArea[c.Area] = s
		}
		tc := testcase{Name: c.Name, Classname: "kubeproof." + c.Area, Time: c.Seconds, SystemOut: details(c)}
		switch c.Verdict {
		case results.Failed:
			tc.Failure = &message{Message: c.Reason, Type: "failed", Text: c.Reason + "\n" + c.Diagnostics}
			s.Failures++
		case results.Skipped:
			tc.Skipped = &message{Message: c.Reason}
			s.Skipped++
		}
		s.Tests++
		s.Time += c.Seconds
		s.Cases = append(s.Cases, tc)
	}
	top := testsuites{Name: "kubeproof " + run.RunID, Time: run.FinishedAt.Sub(run.StartedAt).Seconds()}
	var areas []string
	for a := range byArea {
		areas = append(areas, a)
	}
	sort.Strings(areas)
	for _, a := range areas {
		s := byArea[a]
		s.Properties = []property{{"run-id", run.RunID}, {"kubernetes-version", run.Cluster.ServerVersion}, {"profile", run.Profile}}
		top.Tests += s.Tests
		top.Failures += s.Failures
		top.Skipped += s.Skipped
		top.Suites = append(top.Suites, *s)
	}
	data, err := xml.MarshalIndent(top, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append([]byte(xml.Header), append(data, '\n')...), 0o644)
}

// details is what CI shows under a test case: the MUST and the figures.
func details(c results.Check) string {
	var b strings.Builder
	if c.Must != "" {
		fmt.Fprintf(&b, "MUST: %s\n", c.Must)
	}
	for _, m := range c.Measurements {
		fmt.Fprintf(&b, "%s: %.3g %s\n", m.Name, m.Value, m.Unit)
	}
	return b.String()
}
