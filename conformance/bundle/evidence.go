package bundle

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// evidence is what Verify reads from a submission folder. A file that
// cannot be read leaves its error, which every check needing it reports.
type evidence struct {
	folder     string
	release    string // the parent folder's name, e.g. "v1.34"
	minor      int    // its minor, -1 when the name is not v1.NN
	product    Product
	productErr error
	junit      junitRun
	junitErr   error
	log        logRun
	logErr     error
}

// releaseDir is the bot's pattern for the release folder (v1.[0-9]{2}).
var releaseDir = regexp.MustCompile(`^v1\.([0-9]{2})$`)

func readEvidence(folder string) evidence {
	folder = filepath.Clean(folder)
	ev := evidence{folder: folder, release: filepath.Base(filepath.Dir(folder)), minor: -1}
	if m := releaseDir.FindStringSubmatch(ev.release); m != nil {
		ev.minor, _ = strconv.Atoi(m[1]) // two digits: cannot fail
	}
	ev.product, ev.productErr = readProduct(filepath.Join(folder, productFile))
	ev.junit, ev.junitErr = readJUnit(filepath.Join(folder, junitFile))
	ev.log, ev.logErr = readLog(filepath.Join(folder, logFile))
	return ev
}

// conformanceTag ends every conformance spec's name.
const conformanceTag = "[Conformance]"

// specName returns the conformance.yaml codename for a spec text from
// junit_01.xml ("[It] [sig-node] Pods ... [Conformance]") or e2e.log
// ("[sig-node] Pods ... [Conformance] [sig-node, Conformance]"), or "" when
// the text is not a conformance spec. Ginkgo writes "[It] " before the
// leaf text in JUnit names and in the log's lines about a failed spec.
func specName(text string) string {
	end := strings.Index(text, conformanceTag)
	if end < 0 {
		return ""
	}
	return strings.Replace(text[:end+len(conformanceTag)], "[It] ", "", 1)
}

// junitRun is what junit_01.xml says about the run.
type junitRun struct {
	// props is the run's Ginkgo configuration (FocusStrings, SkipStrings,
	// ...); nil when the report records none.
	props map[string]string
	// ran holds the conformance specs that ran (not skipped), by name.
	ran map[string]bool
	// failed names every testcase that failed, errored, panicked, timed
	// out or was interrupted, spec or suite node.
	failed []string
}

// junitDoc is a JUnit report as Ginkgo writes it: <testsuites> holding
// <testsuite> elements. A report whose root is a lone <testsuite> (older
// runners) fills the embedded suite instead.
type junitDoc struct {
	XMLName xml.Name
	Suites  []junitSuite `xml:"testsuite"`
	junitSuite
}

type junitSuite struct {
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// junitCase is a <testcase>. Ginkgo marks skipped and pending specs with
// <skipped>, failed, timed-out and aborted ones with <failure>, panicked
// and interrupted ones with <error>, and also sets status.
type junitCase struct {
	Name    string        `xml:"name,attr"`
	Status  string        `xml:"status,attr"`
	Time    float64       `xml:"time,attr"`
	Skipped *struct{}     `xml:"skipped"`
	Failure *junitProblem `xml:"failure"`
	Error   *junitProblem `xml:"error"`
}

// junitProblem is a <failure> or <error>. Ginkgo writes the failure into
// the text ("[FAILED] <message>\nIn [It] at: <where>") and may leave the
// message attribute empty.
type junitProblem struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// first is the failure's first line.
func (p *junitProblem) first() string {
	text := p.Message
	if strings.TrimSpace(text) == "" {
		text = p.Text
	}
	line, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	return strings.TrimPrefix(line, "[FAILED] ")
}

func (c junitCase) skipped() bool {
	return c.Skipped != nil || c.Status == "skipped" || c.Status == "pending"
}

func (c junitCase) failed() bool {
	return c.Failure != nil || c.Error != nil ||
		slices.Contains([]string{"failed", "panicked", "timedout", "interrupted", "aborted"}, c.Status)
}

// Outcome is one spec's result in a JUnit report.
type Outcome struct {
	// Name is the spec's full text without Ginkgo's "[It] ".
	Name string
	// State is Ginkgo's: passed, failed, panicked, timedout, interrupted...
	State   string
	Seconds float64
	// Failure is the first line of the failure's message, if it failed.
	Failure string
}

// Outcomes reads the specs that ran (not skipped, not suite nodes) from a
// JUnit report as Ginkgo writes it, in its order.
func Outcomes(path string) ([]Outcome, error) {
	doc, err := parseJUnit(path)
	if err != nil {
		return nil, err
	}
	var out []Outcome
	for _, suite := range append(doc.Suites, doc.junitSuite) {
		for _, c := range suite.Cases {
			if c.skipped() || !strings.HasPrefix(c.Name, "[It] ") {
				continue
			}
			o := Outcome{Name: strings.TrimPrefix(c.Name, "[It] "), State: c.Status, Seconds: c.Time}
			for _, p := range []*junitProblem{c.Failure, c.Error} {
				if p != nil && o.Failure == "" {
					o.Failure = p.first()
				}
			}
			if o.State == "" {
				o.State = "passed"
				if c.failed() {
					o.State = "failed"
				}
			}
			out = append(out, o)
		}
	}
	return out, nil
}

func parseJUnit(path string) (junitDoc, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return junitDoc{}, err
	}
	var doc junitDoc
	if err := xml.Unmarshal(data, &doc); err != nil {
		return junitDoc{}, fmt.Errorf("parse %s: %w", path, err)
	}
	if doc.XMLName.Local != "testsuites" && doc.XMLName.Local != "testsuite" {
		return junitDoc{}, fmt.Errorf("parse %s: want <testsuites>, got <%s>", path, doc.XMLName.Local)
	}
	return doc, nil
}

func readJUnit(path string) (junitRun, error) {
	doc, err := parseJUnit(path)
	if err != nil {
		return junitRun{}, err
	}
	run := junitRun{ran: map[string]bool{}}
	for _, suite := range append(doc.Suites, doc.junitSuite) {
		for _, p := range suite.Properties {
			if run.props == nil {
				run.props = map[string]string{}
			}
			run.props[p.Name] = p.Value
		}
		for _, c := range suite.Cases {
			if c.failed() {
				run.failed = append(run.failed, strings.TrimPrefix(c.Name, "[It] "))
			}
			if name := specName(c.Name); name != "" && !c.skipped() {
				run.ran[name] = true
			}
		}
	}
	return run, nil
}

// logRun is what e2e.log says about the run.
type logRun struct {
	// version is the e2e.test binary's version, from the line
	// "e2e test version: v1.34.4"; "" when not logged.
	version string
	// specs holds the conformance specs the log shows running, by name:
	// true when the spec passed. Only a verbose log (ginkgo -v) names them.
	specs map[string]bool
	// summary is Ginkgo's closing line, e.g.
	// "SUCCESS! -- 424 Passed | 0 Failed | 0 Pending | 6713 Skipped"; "" when
	// the log has none (the run did not finish).
	summary     string
	success     bool // the summary says SUCCESS!
	failedCount int  // the summary's "N Failed"
}

var (
	// versionLine is logged by test/e2e/e2e.go in the suite's setup.
	versionLine = regexp.MustCompile(`e2e test version: (v[0-9]+\.[0-9]+\S*)`)
	// summaryLine is Ginkgo's result line; "Flaked" and "Repeated" counts
	// may follow "Failed".
	summaryLine = regexp.MustCompile(`^(SUCCESS|FAIL)!.* -- ([0-9]+) Passed \| ([0-9]+) Failed \|`)
	// passedLine ends a passed spec in a verbose log: "• [7.766 seconds]".
	passedLine = regexp.MustCompile(`^• \[[0-9.]+ seconds\]$`)
	// colour is a terminal colour code, in case the run did not use
	// --no-color.
	colour = regexp.MustCompile("\x1b\\[[0-9;]*m")
)

// delimiter separates the specs of a verbose Ginkgo log.
const delimiter = "------------------------------"

func readLog(path string) (logRun, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return logRun{}, err
	}
	run := logRun{specs: map[string]bool{}}
	var block specBlock
	lines := bufio.NewScanner(bytes.NewReader(data))
	lines.Buffer(nil, 16<<20) // a spec's output can hold very long lines
	for lines.Scan() {
		line := colour.ReplaceAllString(lines.Text(), "")
		if m := versionLine.FindStringSubmatch(line); m != nil && run.version == "" {
			run.version = m[1]
		}
		if m := summaryLine.FindStringSubmatch(line); m != nil {
			run.summary = line
			run.success = m[1] == "SUCCESS"
			run.failedCount, _ = strconv.Atoi(m[3]) // digits: cannot fail
		}
		if line == delimiter {
			block.record(run.specs)
			block = specBlock{}
			continue
		}
		block.read(line)
	}
	block.record(run.specs)
	if err := lines.Err(); err != nil {
		return logRun{}, fmt.Errorf("read %s: %w", path, err)
	}
	return run, nil
}

// specBlock is the text between two delimiters of a verbose log. A spec's
// block holds its name (unindented, followed by its labels), its indented
// output and its result line. Run serially, Ginkgo prints the name before
// the output and the result ("• [7.766 seconds]", "• [FAILED] [...]") after
// it; run in parallel, the result comes first.
type specBlock struct {
	name   string
	result string
}

func (b *specBlock) read(line string) {
	if line == "" || line[0] == ' ' || line[0] == '\t' {
		return
	}
	if b.name == "" {
		b.name = specName(line)
	}
	if b.result == "" && isResult(line) {
		b.result = line
	}
}

// isResult tells a spec's result line: • for a spec that ran, ↺ for a
// flaky spec that passed on retry, S and P for skipped and pending ones.
func isResult(line string) bool {
	for _, prefix := range []string{"•", "↺", "S [", "P ["} {
		if strings.HasPrefix(line, prefix) {
			return true
		}
	}
	return false
}

// record adds the block's spec to specs: passed, or not (failed, or never
// finished). Skipped and pending specs did not run and are left out.
func (b specBlock) record(specs map[string]bool) {
	if b.name == "" || strings.HasPrefix(b.result, "S [") || strings.HasPrefix(b.result, "P [") {
		return
	}
	passed := passedLine.MatchString(b.result) || strings.HasPrefix(b.result, "↺")
	if earlier, seen := specs[b.name]; seen {
		passed = passed && earlier
	}
	specs[b.name] = passed
}
