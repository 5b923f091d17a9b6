package bundle

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// testSpecs are the specs of testdata/conformance.yaml and the required
// specs of the test bundles. Their names hold the quotes and brackets that
// JUnit escapes and e2e.log follows with labels.
var testSpecs = []Spec{
	{
		Name:     "Pods, assigned hostip",
		Codename: "[sig-node] Pods should get a host IP [NodeConformance] [Conformance]",
		Release:  "v1.9",
		File:     "test/e2e/common/node/pods.go",
	},
	{
		Name:     "Pod liveness probe, using local file, restart",
		Codename: `[sig-node] Probing container should be restarted with a exec "cat /tmp/health" liveness probe [NodeConformance] [Conformance]`,
		Release:  "v1.9",
		File:     "test/e2e/common/node/container_probe.go",
	},
	{
		Name:     "Mutating Admission webhook, mutating webhook excluding object with specific name",
		Codename: "[sig-api-machinery] AdmissionWebhook [Privileged:ClusterAdmin] should mutate everything except 'skip-me' configmaps [Conformance]",
		Release:  "v1.17, v1.21, v1.28",
		File:     "test/e2e/apimachinery/webhook.go",
	},
}

func TestLoadRequired(t *testing.T) {
	got, err := LoadRequired(filepath.Join("testdata", "conformance.yaml"))
	if err != nil {
		t.Fatalf("LoadRequired: %v", err)
	}
	if !slices.Equal(got, testSpecs) {
		t.Errorf("LoadRequired: want %+v, got %+v", testSpecs, got)
	}
}

func TestLoadRequiredErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, content, want string
	}{
		{"empty list", "[]\n", "want a list of specs, got none"},
		{"no codename", "- testname: Lost\n  release: v1.9\n", `want a codename in item 1 ("Lost"), got none`},
		{"not a list", "testname: Lost\n", "cannot unmarshal"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
			writeFile(t, path, tc.content)
			_, err := LoadRequired(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadRequired(%s): want an error containing %q, got %v", tc.name, tc.want, err)
			}
		})
	}
	if _, err := LoadRequired(filepath.Join(dir, "absent.yaml")); err == nil {
		t.Error("LoadRequired(absent file): want an error, got none")
	}
}

// fixture describes a submission folder; write turns it into files.
type fixture struct {
	release    string            // the release folder, e.g. "v1.34"
	product    map[string]string // PRODUCT.yaml's fields
	productRaw string            // PRODUCT.yaml's text instead, when set
	readme     string
	logVersion string            // the "e2e test version" line's version; "" leaves it out
	props      map[string]string // junit_01.xml's properties; nil leaves them out
	specs      []fixtureSpec
	parallel   bool   // e2e.log as Ginkgo writes it for parallel runs
	quiet      bool   // e2e.log of a run without -v: no spec names
	dropFile   string // a required file to leave out
	extraFile  string // a file to add
}

// fixtureSpec is one spec's outcome in each log: "passed", "failed",
// "skipped" (junit only) or "" (not in that log).
type fixtureSpec struct {
	codename   string
	junit, log string
}

func validFixture() fixture {
	f := fixture{
		release: "v1.34",
		product: map[string]string{
			"vendor":                "Acme Clouds",
			"name":                  "Acme Kube Engine",
			"version":               "v2.3.1",
			"website_url":           "https://acme.example.com/kube",
			"repo_url":              "https://github.com/acme-example/kube-engine",
			"documentation_url":     "https://acme.example.com/kube/docs",
			"product_logo_url":      "https://acme.example.com/assets/kube-engine.svg",
			"type":                  "distribution",
			"description":           "Acme Kube Engine is a Kubernetes distribution for test fixtures.",
			"contact_email_address": "kube@acme.example.com",
		},
		readme:     "# Acme Kube Engine\n\nRun `hydrophone --conformance`.\n",
		logVersion: "v1.34.4",
		props: map[string]string{
			"SuiteSucceeded": "true",
			"RandomSeed":     "1763456631",
			"LabelFilter":    "",
			"FocusStrings":   `\[Conformance\]`,
			"SkipStrings":    "",
			"FocusFiles":     "",
			"SkipFiles":      "",
			"FlakeAttempts":  "0",
			"DryRun":         "false",
			"ParallelTotal":  "1",
		},
	}
	for _, s := range testSpecs {
		f.specs = append(f.specs, fixtureSpec{codename: s.Codename, junit: "passed", log: "passed"})
	}
	return f
}

// write lays the fixture out as <tmp>/<release>/acme-kube-engine and
// returns the folder.
func (f fixture) write(t *testing.T) string {
	t.Helper()
	folder := filepath.Join(t.TempDir(), f.release, "acme-kube-engine")
	if err := os.MkdirAll(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		readmeFile:  f.readme,
		productFile: f.productYAML(t),
		logFile:     f.e2eLog(),
		junitFile:   f.junitXML(t),
	}
	for name, content := range files {
		if name != f.dropFile {
			writeFile(t, filepath.Join(folder, name), content)
		}
	}
	if f.extraFile != "" {
		writeFile(t, filepath.Join(folder, f.extraFile), "extra")
	}
	return folder
}

func (f fixture) productYAML(t *testing.T) string {
	t.Helper()
	if f.productRaw != "" {
		return f.productRaw
	}
	data, err := yaml.Marshal(f.product)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

const (
	totalSpecs = 7137
	delim      = "------------------------------\n"
)

// e2eLog renders e2e.log as the e2e.test binary writes it under
// ginkgo -v --no-color (compare cncf/k8s-conformance v1.34/*/e2e.log).
func (f fixture) e2eLog() string {
	var ran, passed, failed int
	for _, s := range f.specs {
		switch s.log {
		case "passed":
			ran, passed = ran+1, passed+1
		case "failed":
			ran, failed = ran+1, failed+1
		}
	}
	var b strings.Builder
	b.WriteString(`  I1118 09:03:52.251049      24 e2e.go:109] Starting e2e run "a76ca1c7-2075-4fc4-a89f-170e750e1262" on Ginkgo node 1` + "\n")
	b.WriteString("Running Suite: Kubernetes e2e suite - /usr/local/bin\n")
	b.WriteString("====================================================\n")
	b.WriteString("Random Seed: 1763456631 - will randomize all specs\n\n")
	fmt.Fprintf(&b, "Will run %d of %d specs\n", ran, totalSpecs)
	if f.quiet {
		b.WriteString("SSSSS" + strings.Repeat("•SSSS", ran) + "\n")
	} else {
		b.WriteString(delim + "[ReportBeforeSuite] \nk8s.io/kubernetes/test/e2e/e2e_test.go:153\n[ReportBeforeSuite] PASSED [0.000 seconds]\n")
		b.WriteString(delim + "[SynchronizedBeforeSuite] \nk8s.io/kubernetes/test/e2e/e2e.go:69\n")
		b.WriteString("  I1118 09:03:52.641646 24 util.go:454] >>> kubeConfig: /tmp/kubeconfig-239953799\n")
		if f.logVersion != "" {
			fmt.Fprintf(&b, "  I1118 09:03:52.722647 24 e2e.go:245] e2e test version: %s\n", f.logVersion)
		}
		b.WriteString("  I1118 09:03:52.726254 24 e2e.go:254] kube-apiserver version: v1.34.4\n")
		b.WriteString("[SynchronizedBeforeSuite] PASSED [0.096 seconds]\n")
		for _, s := range f.specs {
			if s.log != "" {
				b.WriteString(delim + "SSSSSSSSSSSSSSSSSSSS\n" + delim + logBlock(s, f.parallel))
			}
		}
		b.WriteString(delim + "[SynchronizedAfterSuite] \nk8s.io/kubernetes/test/e2e/e2e.go:80\n")
		b.WriteString("  I1118 10:56:46.703244 24 suites.go:34] Running AfterSuite actions on node 1\n")
		b.WriteString("[SynchronizedAfterSuite] PASSED [0.001 seconds]\n")
		b.WriteString(delim + "[ReportAfterSuite] Kubernetes e2e suite report\nk8s.io/kubernetes/test/e2e/e2e_test.go:157\n[ReportAfterSuite] PASSED [0.000 seconds]\n" + delim)
	}
	status, verdict := "SUCCESS!", "PASS\n\nGinkgo ran 1 suite in 1h52m55.997524888s\nTest Suite Passed\n"
	if failed > 0 {
		status, verdict = "FAIL!", "--- FAIL: TestE2E (6774.06s)\nFAIL\n\nGinkgo ran 1 suite in 1h52m55.997524888s\nTest Suite Failed\n"
		fmt.Fprintf(&b, "\nSummarizing %d Failure(s):\n", failed)
		for _, s := range f.specs {
			if s.log == "failed" {
				fmt.Fprintf(&b, "  [FAIL] %s %s\n  k8s.io/kubernetes/test/e2e/common/node/pods.go:210\n", failedText(s.codename), labels(s.codename))
			}
		}
	}
	fmt.Fprintf(&b, "\nRan %d of %d Specs in 6774.062 seconds\n", ran, totalSpecs)
	fmt.Fprintf(&b, "%s -- %d Passed | %d Failed | 0 Pending | %d Skipped\n", status, passed, failed, totalSpecs-ran)
	b.WriteString(verdict)
	return b.String()
}

// logBlock is one spec's block in a verbose log: run serially, its name,
// output, then result; run in parallel, its result first.
func logBlock(s fixtureSpec, parallel bool) string {
	name := s.codename + " " + labels(s.codename) + "\nk8s.io/kubernetes/test/e2e/common/node/pods.go:206\n"
	output := "  STEP: Creating a kubernetes client @ 11/18/25 09:03:52.986\n" +
		"  I1118 09:03:52.987194 24 util.go:454] >>> kubeConfig: /tmp/kubeconfig-239953799\n" +
		`  STEP: Destroying namespace "pods-4945" for this suite. @ 11/18/25 09:04:00.675` + "\n"
	failure := "  [FAILED] Timed out after 300.000s.\n  In [It] at: k8s.io/kubernetes/test/e2e/common/node/pods.go:210 @ 11/18/25 09:04:00.1\n"
	switch {
	case s.log == "passed" && !parallel:
		return name + output + "• [7.766 seconds]\n"
	case s.log == "passed":
		return "• [7.766 seconds]\n" + name + "\n  Timeline >>\n" + output + "  << Timeline\n"
	case !parallel:
		return name + output + failure + "• [FAILED] [300.012 seconds]\n" +
			failedText(s.codename) + " " + labels(s.codename) + "\nk8s.io/kubernetes/test/e2e/common/node/pods.go:210\n\n" + failure
	default:
		return "• [FAILED] [300.012 seconds]\n" + failedText(s.codename) + " " + labels(s.codename) +
			"\nk8s.io/kubernetes/test/e2e/common/node/pods.go:210\n\n  Timeline >>\n" + output + failure + "  << Timeline\n"
	}
}

// failedText is how Ginkgo names a spec whose It failed: "[It] " before
// the leaf text.
func failedText(codename string) string {
	return strings.Replace(codename, " should ", " [It] should ", 1)
}

// labels is the label list the e2e framework derives from a spec's tags.
func labels(codename string) string {
	var out []string
	for _, m := range regexp.MustCompile(`\[([^\]]+)\]`).FindAllStringSubmatch(codename, -1) {
		if strings.HasPrefix(m[1], "sig-") || m[1] == "NodeConformance" || m[1] == "Conformance" {
			out = append(out, m[1])
		}
	}
	return "[" + strings.Join(out, ", ") + "]"
}

// junitProps is the order Ginkgo writes the properties in.
var junitProps = []string{"SuiteSucceeded", "RandomSeed", "LabelFilter", "FocusStrings", "SkipStrings", "FocusFiles", "SkipFiles", "FlakeAttempts", "DryRun", "ParallelTotal"}

// junitXML renders junit_01.xml as the e2e framework writes it (compare
// cncf/k8s-conformance v1.34/*/junit_01.xml).
func (f fixture) junitXML(t *testing.T) string {
	t.Helper()
	failed := 0
	for _, s := range f.specs {
		if s.junit == "failed" {
			failed++
		}
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	fmt.Fprintf(&b, `  <testsuites tests="%d" disabled="0" errors="0" failures="%d" time="6774.062">`+"\n", totalSpecs, failed)
	fmt.Fprintf(&b, `      <testsuite name="Kubernetes e2e suite" package="/usr/local/bin" tests="%d" disabled="0" errors="0" failures="%d" time="6774.062" timestamp="2025-11-18T09:03:52">`+"\n", totalSpecs, failed)
	if f.props != nil {
		b.WriteString("          <properties>\n")
		for _, key := range junitProps {
			if value, ok := f.props[key]; ok {
				fmt.Fprintf(&b, `              <property name="%s" value="%s"></property>`+"\n", key, escape(t, value))
			}
		}
		b.WriteString("          </properties>\n")
	}
	for _, node := range []string{"[ReportBeforeSuite]", "[SynchronizedBeforeSuite]", "[SynchronizedAfterSuite]", "[ReportAfterSuite] Kubernetes e2e suite report"} {
		fmt.Fprintf(&b, `          <testcase name="%s" classname="Kubernetes e2e suite" status="passed" time="0.05"></testcase>`+"\n", node)
	}
	b.WriteString(junitCaseXML(t, "[sig-apps] Daemon set [Serial] should surge pods onto nodes when spec was updated and update strategy is RollingUpdate", "skipped"))
	for _, s := range f.specs {
		if s.junit != "" {
			b.WriteString(junitCaseXML(t, s.codename, s.junit))
		}
	}
	b.WriteString("      </testsuite>\n  </testsuites>\n")
	return b.String()
}

func junitCaseXML(t *testing.T, name, state string) string {
	open := fmt.Sprintf(`          <testcase name="%s" classname="Kubernetes e2e suite" status="%s"`, escape(t, "[It] "+name), state)
	switch state {
	case "skipped":
		return open + ` time="0">` + "\n" + `              <skipped message="skipped"></skipped>` + "\n          </testcase>\n"
	case "failed":
		return open + ` time="300.012">` + "\n" + `              <failure type="failed">[FAILED] Timed out after 300.000s.` + "\n" +
			"In [It] at: k8s.io/kubernetes/test/e2e/common/node/pods.go:210 @ 11/18/25 09:04:00.1</failure>\n          </testcase>\n"
	default:
		return open + ` time="7.766"></testcase>` + "\n"
	}
}

// escape escapes text for XML as Ginkgo's encoder does (' as &#39;).
func escape(t *testing.T, s string) string {
	t.Helper()
	var b strings.Builder
	if err := xml.EscapeText(&b, []byte(s)); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// verifyDay is a day on which v1.32 to v1.34 are supported.
var verifyDay = day(2025, time.October, 1)

func TestVerify(t *testing.T) {
	const (
		hostIP  = "[sig-node] Pods should get a host IP [NodeConformance] [Conformance]"
		probe   = `[sig-node] Probing container should be restarted with a exec "cat /tmp/health" liveness probe [NodeConformance] [Conformance]`
		webhook = "[sig-api-machinery] AdmissionWebhook [Privileged:ClusterAdmin] should mutate everything except 'skip-me' configmaps [Conformance]"
		partial = `junit_01.xml: not valid for certification: want focus \[Conformance\] and no skip, label or file filter, and no dry run, got `
	)
	cases := []struct {
		name     string
		change   func(f *fixture)
		required []Spec    // testSpecs when nil
		now      time.Time // verifyDay when zero
		want     []Check   // the failing checks; a Detail ending in "..." is a prefix
	}{
		{name: "valid bundle"},
		{
			name:   "valid bundle logged by a parallel run",
			change: func(f *fixture) { f.parallel = true },
		},
		{
			name: "spec promoted after the folder's release is not required",
			required: append(slices.Clone(testSpecs), Spec{
				Name: "Newer", Codename: "[sig-node] Newer spec [Conformance]", Release: "v1.35",
			}),
		},
		{
			name:   "missing file",
			change: func(f *fixture) { f.dropFile = readmeFile },
			want: []Check{{Name: "required files",
				Detail: "want README.md, PRODUCT.yaml, e2e.log, junit_01.xml present and non-empty, got README.md missing"}},
		},
		{
			name:   "empty file",
			change: func(f *fixture) { f.readme = "" },
			want: []Check{{Name: "required files",
				Detail: "want README.md, PRODUCT.yaml, e2e.log, junit_01.xml present and non-empty, got README.md empty"}},
		},
		{
			name:   "extra file",
			change: func(f *fixture) { f.extraFile = "sonobuoy.tar.gz" },
			want: []Check{{Name: "no extra files",
				Detail: `want only README.md, PRODUCT.yaml, e2e.log, junit_01.xml, got extra "sonobuoy.tar.gz"`}},
		},
		{
			name:   "folder not under a release",
			change: func(f *fixture) { f.release = "1.34" },
			want: []Check{
				{Name: "folder layout", Detail: `want the folder at v1.NN/<product>, e.g. v1.34/turbo-encabulator, got "1.34/acme-kube-engine"`},
				{Name: "supported release", Detail: `want the folder under a release v1.NN, got "1.34"`},
				{Name: "e2e.log version", Detail: `want the folder under a release v1.NN to compare with e2e.log, got "1.34"`},
			},
		},
		{
			name:   "missing PRODUCT.yaml field",
			change: func(f *fixture) { delete(f.product, "contact_email_address") },
			want: []Check{{Name: "product fields",
				Detail: "PRODUCT.yaml: want vendor, name, version, type, description, website_url, documentation_url, contact_email_address set, got contact_email_address missing"}},
		},
		{
			name:   "bad URL",
			change: func(f *fixture) { f.product["website_url"] = "acme.example.com/kube" },
			want: []Check{{Name: "product URLs and email",
				Detail: `PRODUCT.yaml: want http(s) URLs and a mail address, got website_url "acme.example.com/kube" not an http(s) URL`}},
		},
		{
			name:   "bad email",
			change: func(f *fixture) { f.product["contact_email_address"] = "kube at acme" },
			want: []Check{{Name: "product URLs and email",
				Detail: `PRODUCT.yaml: want http(s) URLs and a mail address, got contact_email_address "kube at acme" not a mail address`}},
		},
		{
			name:   "bad type",
			change: func(f *fixture) { f.product["type"] = "cloud" },
			want: []Check{{Name: "product type",
				Detail: `PRODUCT.yaml: want type "distribution", "hosted platform" or "installer", got "cloud"`}},
		},
		{
			name:   "PRODUCT.yaml not YAML",
			change: func(f *fixture) { f.productRaw = "vendor: [Acme\n" },
			want: []Check{
				{Name: "product fields", Detail: "PRODUCT.yaml: want YAML with the product's fields, got parse ..."},
				{Name: "product URLs and email", Detail: "PRODUCT.yaml: want YAML with the product's fields, got parse ..."},
				{Name: "product type", Detail: "PRODUCT.yaml: want YAML with the product's fields, got parse ..."},
			},
		},
		{
			name: "unsupported release",
			now:  day(2027, time.January, 1),
			want: []Check{{Name: "supported release",
				Detail: "want v1.36 to v1.38 (the newest 3 minors on 2027-01-01), got v1.34"}},
		},
		{
			name:   "version mismatch between folder and e2e.log",
			change: func(f *fixture) { f.logVersion = "v1.35.0" },
			want: []Check{{Name: "e2e.log version",
				Detail: `e2e.log: want "e2e test version: v1.34.x" to match the folder, got v1.35.0`}},
		},
		{
			name:   "no version in e2e.log",
			change: func(f *fixture) { f.logVersion = "" },
			want: []Check{{Name: "e2e.log version",
				Detail: `e2e.log: want a line "e2e test version: v1.34.x", got none (log a verbose run: ginkgo -v)`}},
		},
		{
			name:   "partial run: skip",
			change: func(f *fixture) { f.props["SkipStrings"] = `\[Serial\]` },
			want:   []Check{{Name: "full conformance run", Detail: partial + `SkipStrings=\[Serial\]`}},
		},
		{
			name:   "partial run: focus",
			change: func(f *fixture) { f.props["FocusStrings"] = `\[sig-node\]` },
			want:   []Check{{Name: "full conformance run", Detail: partial + `FocusStrings=\[sig-node\]`}},
		},
		{
			name:   "dry run",
			change: func(f *fixture) { f.props["DryRun"] = "true" },
			want:   []Check{{Name: "full conformance run", Detail: partial + "DryRun=true"}},
		},
		{
			name:   "run's filters not recorded",
			change: func(f *fixture) { f.props = nil },
			want: []Check{{Name: "full conformance run",
				Detail: `junit_01.xml: not valid for certification: want focus \[Conformance\] and no skip, label or file filter, and no dry run, got no record of the run's filters (no <properties>)`}},
		},
		{
			name:   "spec missing from junit",
			change: func(f *fixture) { f.specs[0] = fixtureSpec{codename: hostIP} },
			want: []Check{{Name: "required specs",
				Detail: `junit_01.xml: want all 3 required [Conformance] specs run, got 2: missing "` + hostIP + `"`}},
		},
		{
			name:   "required spec skipped",
			change: func(f *fixture) { f.specs[2] = fixtureSpec{codename: webhook, junit: "skipped"} },
			want: []Check{{Name: "required specs",
				Detail: `junit_01.xml: want all 3 required [Conformance] specs run, got 2: missing "` + webhook + `"`}},
		},
		{
			name:     "no required specs given",
			required: []Spec{},
			want: []Check{{Name: "required specs",
				Detail: "want the required specs of the release (conformance.yaml), got none"}},
		},
		{
			name:   "failed spec in junit",
			change: func(f *fixture) { f.specs[1].junit = "failed" },
			want: []Check{{Name: "junit passed",
				Detail: `junit_01.xml: want every testcase passed, got 1 failed: "[sig-node] Probing container should be restarted with a exec \"cat /tmp/health\" liveness probe [NodeConformance] [Conformance]"`}},
		},
		{
			name:   "failed spec in junit and e2e.log",
			change: func(f *fixture) { f.specs[1].junit, f.specs[1].log = "failed", "failed" },
			want: []Check{
				{Name: "junit passed", Detail: `junit_01.xml: want every testcase passed, got 1 failed: ...`},
				{Name: "e2e.log passed", Detail: `e2e.log: want "SUCCESS! -- N Passed | 0 Failed", got "FAIL! -- 2 Passed | 1 Failed | 0 Pending | 7134 Skipped"; failed "[sig-node] Probing container should be restarted with a exec \"cat /tmp/health\" liveness probe [NodeConformance] [Conformance]"`},
			},
		},
		{
			name:   "failed spec in a parallel e2e.log",
			change: func(f *fixture) { f.parallel, f.specs[0].log = true, "failed" },
			want: []Check{{Name: "e2e.log passed",
				Detail: `e2e.log: want "SUCCESS! -- N Passed | 0 Failed", got "FAIL! -- 2 Passed | 1 Failed | 0 Pending | 7134 Skipped"; failed "` + hostIP + `"`}},
		},
		{
			name:   "junit and e2e.log list different specs",
			change: func(f *fixture) { f.specs[2].log = "" },
			want: []Check{{Name: "junit matches e2e.log",
				Detail: `want the same [Conformance] specs run in junit_01.xml and e2e.log, got 1 only in junit_01.xml: "` + webhook + `"`}},
		},
		{
			name:   "quiet e2e.log",
			change: func(f *fixture) { f.quiet = true },
			want: []Check{
				{Name: "e2e.log version", Detail: `e2e.log: want a line "e2e test version: v1.34.x", got none (log a verbose run: ginkgo -v)`},
				{Name: "junit matches e2e.log", Detail: "e2e.log: want each spec that ran named (log a verbose run: ginkgo -v), got none; junit_01.xml has 3"},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := validFixture()
			if tc.change != nil {
				tc.change(&f)
			}
			required, now := tc.required, tc.now
			if required == nil {
				required = testSpecs
			}
			if now.IsZero() {
				now = verifyDay
			}
			report := Verify(f.write(t), required, now)

			var failed []Check
			for _, c := range report.Checks {
				if strings.Contains(c.Detail, "\n") {
					t.Errorf("check %q: want a one-line detail, got %q", c.Name, c.Detail)
				}
				if !c.OK {
					failed = append(failed, c)
				}
			}
			if !sameChecks(failed, tc.want) {
				t.Errorf("Verify: want failing %s, got failing %s", checkList(tc.want), checkList(failed))
			}
			if report.OK() != (len(tc.want) == 0) {
				t.Errorf("Report.OK: want %v, got %v", len(tc.want) == 0, report.OK())
			}
		})
	}
}

// TestVerifyOrder pins the checks' names and order: Verify's output is
// read by people and compared across runs.
func TestVerifyOrder(t *testing.T) {
	want := []string{
		"required files", "no extra files", "folder layout", "product fields", "product URLs and email",
		"product type", "supported release", "e2e.log version", "full conformance run", "required specs",
		"junit passed", "e2e.log passed", "junit matches e2e.log",
	}
	report := Verify(validFixture().write(t), testSpecs, verifyDay)
	var got []string
	for _, c := range report.Checks {
		got = append(got, c.Name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("Verify: want checks %q, got %q", want, got)
	}
}

// sameChecks compares failing checks with the wanted ones by name and
// detail; a wanted detail ending in "..." only has to begin the real one.
func sameChecks(got, want []Check) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range want {
		detail, prefix := strings.CutSuffix(want[i].Detail, "...")
		if got[i].Name != want[i].Name ||
			(prefix && !strings.HasPrefix(got[i].Detail, detail)) ||
			(!prefix && got[i].Detail != want[i].Detail) {
			return false
		}
	}
	return true
}

func checkList(checks []Check) string {
	if len(checks) == 0 {
		return "none"
	}
	var lines []string
	for _, c := range checks {
		lines = append(lines, fmt.Sprintf("\n  %s: %s", c.Name, c.Detail))
	}
	return strings.Join(lines, "")
}

func TestWrite(t *testing.T) {
	src := t.TempDir()
	f := validFixture()
	in := Inputs{
		KubeVersion: "v1.34.4",
		ProductFile: filepath.Join(src, "product.yaml"),
		E2ELog:      filepath.Join(src, "e2e.log"),
		JUnit:       filepath.Join(src, "junit_01.xml"),
		Reproduce:   "kind create cluster --image kindest/node:v1.34.4\nhydrophone --conformance --output-dir results",
	}
	writeFile(t, in.ProductFile, f.productYAML(t))
	writeFile(t, in.E2ELog, f.e2eLog())
	writeFile(t, in.JUnit, f.junitXML(t))
	out := t.TempDir()

	folder, err := Write(out, in)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if want := filepath.Join(out, "v1.34", "acme-kube-engine"); folder != want {
		t.Errorf("Write: want folder %s, got %s", want, folder)
	}
	for from, to := range map[string]string{in.ProductFile: productFile, in.E2ELog: logFile, in.JUnit: junitFile} {
		if !sameBytes(t, from, filepath.Join(folder, to)) {
			t.Errorf("Write: want %s byte-identical to %s, got a different file", to, from)
		}
	}
	readme, err := os.ReadFile(filepath.Join(folder, readmeFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Acme Kube Engine v2.3.1: Kubernetes v1.34.4 conformance", "```sh\n" + in.Reproduce + "\n```"} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README.md: want %q in it, got:\n%s", want, readme)
		}
	}
	if report := Verify(folder, testSpecs, verifyDay); !report.OK() {
		var b bytes.Buffer
		report.Print(&b)
		t.Errorf("Verify of a written bundle: want every check passed, got:\n%s", b.String())
	}
	if _, err := Write(out, in); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("Write into an existing folder: want an error saying it already exists, got %v", err)
	}
}

func TestWriteErrors(t *testing.T) {
	src := t.TempDir()
	product := filepath.Join(src, "PRODUCT.yaml")
	writeFile(t, product, validFixture().productYAML(t))
	nameless := filepath.Join(src, "nameless.yaml")
	writeFile(t, nameless, "vendor: Acme Clouds\nname: '!!!'\n")
	valid := Inputs{KubeVersion: "v1.34.4", ProductFile: product, E2ELog: product, JUnit: product, Reproduce: "hydrophone --conformance"}
	cases := []struct {
		name   string
		change func(in *Inputs)
		want   string
	}{
		{"bad Kubernetes version", func(in *Inputs) { in.KubeVersion = "latest" }, `want a Kubernetes version such as v1.34.4, got "latest"`},
		{"no reproduce commands", func(in *Inputs) { in.Reproduce = " \n" }, "want the commands that reproduce the run"},
		{"no PRODUCT.yaml", func(in *Inputs) { in.ProductFile = filepath.Join(src, "absent.yaml") }, "no such file"},
		{"product name without letters", func(in *Inputs) { in.ProductFile = nameless }, `want a product name in`},
		{"no e2e.log", func(in *Inputs) { in.E2ELog = filepath.Join(src, "absent.log") }, "no such file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in, out := valid, t.TempDir()
			tc.change(&in)
			_, err := Write(out, in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Write: want an error containing %q, got %v", tc.want, err)
			}
			if _, err := os.Stat(filepath.Join(out, "v1.34", "acme-kube-engine")); err == nil {
				t.Errorf("Write: want no folder left after an error, got one")
			}
		})
	}
}

func sameBytes(t *testing.T, a, b string) bool {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(x, y)
}

func TestFolderName(t *testing.T) {
	cases := map[string]string{
		"Acme Kube Engine":       "acme-kube-engine",
		"  Turbo  Encabulator! ": "turbo-encabulator",
		"k3s":                    "k3s",
		"EKS-D (Distro) v1.34":   "eks-d-distro-v1-34",
		"Überkube":               "berkube",
		"!!!":                    "",
	}
	for product, want := range cases {
		if got := folderName(product); got != want {
			t.Errorf("folderName(%q): want %q, got %q", product, want, got)
		}
	}
}

func TestSupportedMinors(t *testing.T) {
	cases := []struct {
		now            time.Time
		oldest, newest int
		err            string
	}{
		{now: day(2025, time.August, 26), oldest: 31, newest: 33},
		{now: day(2025, time.August, 27), oldest: 32, newest: 34},
		{now: day(2026, time.November, 26), oldest: 35, newest: 37},
		{now: day(2026, time.December, 16), oldest: 36, newest: 38},
		{now: day(2023, time.January, 1), err: "want a date after v1.28's release (2023-08-15), got 2023-01-01"},
		{now: day(2027, time.June, 1), err: "add the newer minors to minorReleases"},
	}
	for _, tc := range cases {
		oldest, newest, err := supportedMinors(tc.now)
		on := tc.now.Format(time.DateOnly)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("supportedMinors(%s): want an error containing %q, got %v", on, tc.err, err)
		case tc.err == "" && err != nil:
			t.Errorf("supportedMinors(%s): want v1.%d to v1.%d, got %v", on, tc.oldest, tc.newest, err)
		case tc.err == "" && (oldest != tc.oldest || newest != tc.newest):
			t.Errorf("supportedMinors(%s): want v1.%d to v1.%d, got v1.%d to v1.%d", on, tc.oldest, tc.newest, oldest, newest)
		}
	}
}

func TestPrint(t *testing.T) {
	report := Report{Checks: []Check{
		{Name: "required files", OK: true, Detail: "all there"},
		{Name: "required specs", Detail: `junit_01.xml: want all 3 required [Conformance] specs run, got 2: missing "x"`},
	}}
	var b bytes.Buffer
	report.Print(&b)
	want := "PASS required files: all there\n" +
		`FAIL required specs: junit_01.xml: want all 3 required [Conformance] specs run, got 2: missing "x"` + "\n"
	if b.String() != want {
		t.Errorf("Print: want %q, got %q", want, b.String())
	}
}

func TestReadLog(t *testing.T) {
	const spec = "[sig-node] Pods should get a host IP [NodeConformance] [Conformance]"
	cases := []struct {
		name    string
		log     string
		specs   map[string]bool
		success bool
	}{
		{
			name: "colours",
			log: delim + "\x1b[0m" + spec + " \x1b[38;5;204m[sig-node, NodeConformance, Conformance]\x1b[0m\n" +
				"\x1b[38;5;243mk8s.io/kubernetes/test/e2e/common/node/pods.go:206\x1b[0m\n" +
				"\x1b[38;5;10m• [7.766 seconds]\x1b[0m\n" + delim +
				"\x1b[1m\x1b[38;5;10mSUCCESS!\x1b[0m -- \x1b[38;5;10m\x1b[1m1 Passed\x1b[0m | \x1b[38;5;9m\x1b[1m0 Failed\x1b[0m | 0 Pending | 7136 Skipped\n",
			specs:   map[string]bool{spec: true},
			success: true,
		},
		{
			name:    "flaky spec that passed on retry",
			log:     delim + spec + " [sig-node, NodeConformance, Conformance]\n  STEP: x\n↺ [FLAKEY TEST - TOOK 2 ATTEMPTS TO PASS] [12.000 seconds]\n" + delim + "SUCCESS! -- 1 Passed | 0 Failed | 1 Flaked | 0 Pending | 7136 Skipped\n",
			specs:   map[string]bool{spec: true},
			success: true,
		},
		{
			name:  "interrupted spec",
			log:   delim + spec + " [sig-node, NodeConformance, Conformance]\n  STEP: x\n\nRan 1 of 7137 Specs in 10.000 seconds\nFAIL! - Interrupted by User -- 0 Passed | 1 Failed | 0 Pending | 7136 Skipped\n",
			specs: map[string]bool{spec: false},
		},
		{
			name:    "skipped spec",
			log:     delim + spec + " [sig-node, NodeConformance, Conformance]\nS [SKIPPED] [0.000 seconds]\n" + delim + "SUCCESS! -- 0 Passed | 0 Failed | 0 Pending | 7137 Skipped\n",
			specs:   map[string]bool{},
			success: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), logFile)
			writeFile(t, path, tc.log)
			run, err := readLog(path)
			if err != nil {
				t.Fatalf("readLog: %v", err)
			}
			if !maps.Equal(run.specs, tc.specs) || run.success != tc.success || run.summary == "" {
				t.Errorf("readLog: want specs %v, success %v and a summary, got specs %v, success %v, summary %q",
					tc.specs, tc.success, run.specs, run.success, run.summary)
			}
		})
	}
}

// TestReadJUnitSuiteRoot reads a report whose root is a lone <testsuite>,
// as older runners write it, with a panicked spec.
func TestReadJUnitSuiteRoot(t *testing.T) {
	path := filepath.Join(t.TempDir(), junitFile)
	writeFile(t, path, `<testsuite name="e2e"><properties><property name="FocusStrings" value="\[Conformance\]"></property></properties>`+
		`<testcase name="[It] [sig-x] y [Conformance]" status="panicked"><error message="boom"></error></testcase></testsuite>`)
	run, err := readJUnit(path)
	if err != nil {
		t.Fatalf("readJUnit: %v", err)
	}
	want := []string{"[sig-x] y [Conformance]"}
	if run.props["FocusStrings"] != certifiedFocus || !run.ran[want[0]] || !slices.Equal(run.failed, want) {
		t.Errorf("readJUnit: want focus %s, %q ran and failed, got %+v", certifiedFocus, want[0], run)
	}
}

// Ginkgo may leave a failure's message attribute empty and write it into
// the element's text: Outcomes reads it from there.
func TestOutcomesReadTheFailureText(t *testing.T) {
	path := filepath.Join(t.TempDir(), "junit_01.xml")
	report := `<?xml version="1.0" encoding="UTF-8"?>
<testsuites><testsuite name="Kubernetes e2e suite">
<testcase name="[SynchronizedBeforeSuite]" status="passed"></testcase>
<testcase name="[It] [sig-node] Pods should get a host IP [NodeConformance] [Conformance]" status="failed" time="0.61"><failure message="" type="failed">[FAILED] Error creating Pod: forbidden&#xA;In [It] at: pods.go:74</failure></testcase>
<testcase name="[It] [sig-node] Pods skipped one [Conformance]" status="skipped"><skipped message="skipped"></skipped></testcase>
<testcase name="[It] [sig-network] DNS should provide DNS for the cluster [Conformance]" status="passed" time="2.05"></testcase>
</testsuite></testsuites>`
	if err := os.WriteFile(path, []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Outcomes(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []Outcome{
		{Name: "[sig-node] Pods should get a host IP [NodeConformance] [Conformance]", State: "failed", Seconds: 0.61, Failure: "Error creating Pod: forbidden"},
		{Name: "[sig-network] DNS should provide DNS for the cluster [Conformance]", State: "passed", Seconds: 2.05},
	}
	if len(got) != len(want) {
		t.Fatalf("want %d outcomes, got %+v", len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("outcome %d: want %+v, got %+v", i, want[i], got[i])
		}
	}
}
