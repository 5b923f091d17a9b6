package html

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kubeproof/kubeproof/reporters/results"
	"github.com/kubeproof/kubeproof/suites/contract"
)

// testdata/results.json is two real runs merged (the node-fault scenarios
// of a certification run and the networking checks of a core run) plus the
// rollout checks shaped as suites/workloads records them.
const testResults = "testdata/results.json"

func loadTestRun(t *testing.T) *results.Run {
	t.Helper()
	run, err := results.Load(testResults)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// withConformance adds a whole upstream conformance run of two required
// specs, both passed: with the testdata's checks, a certified run.
func withConformance(run *results.Run) *results.Run {
	run.Conformance = &results.Conformance{Version: "v1.34.4", Required: 2, Seconds: 3465, E2ELog: "conformance/e2e.log", JUnit: "conformance/junit_01.xml"}
	for _, name := range []string{
		"[sig-network] Services should serve a basic endpoint from pods  [Conformance]",
		"[sig-apps] Deployment RollingUpdateDeployment should delete old pods and create new ones [Conformance]",
	} {
		run.Checks = append(run.Checks, results.Check{ID: name, Area: results.ConformanceArea, Name: name, Verdict: results.Passed, Seconds: 12})
	}
	return run
}

func render(t *testing.T, run *results.Run) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(run, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// Anything that would make a browser fetch: a URL (absolute or
// protocol-relative) in src, href or url(), or a script or stylesheet link.
var externalLoads = []*regexp.Regexp{
	regexp.MustCompile(`(?i)\b(src|href|xlink:href|action|srcset|poster|data)\s*=\s*["']?\s*(https?:)?//`),
	regexp.MustCompile(`(?i)url\(\s*["']?\s*(https?:)?//`),
	regexp.MustCompile(`(?i)@import`),
	regexp.MustCompile(`(?i)<script`),
	regexp.MustCompile(`(?i)<link\b`),
	regexp.MustCompile(`(?i)<(img|iframe|object|embed)\b`),
}

func TestReportLoadsNothingFromOutside(t *testing.T) {
	page := render(t, loadTestRun(t))
	for _, re := range externalLoads {
		if m := re.FindString(page); m != "" {
			t.Errorf("the report would load something from outside the file: %q", m)
		}
	}
	if !strings.Contains(page, `http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'"`) {
		t.Error("the report lacks the Content-Security-Policy that forbids every fetch")
	}
}

func TestReportContent(t *testing.T) {
	run := withConformance(loadTestRun(t))
	page := render(t, run)
	digest, err := run.Digest()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`id="verdict"`, `id="fingerprint"`,
		// The testdata's runs had a label filter: part of the profile.
		`>NOT CERTIFIED<`, "not valid for certification: left out checks outside --label-filter",
		`<meta name="kubeproof-results-sha256" content="` + digest + `">`,
		`<code id="results-sha256">` + digest + `</code>`,
		"v1.34.4", "kubeproof-net", "iptables", "containerd://1.6.20", "6.18.44-fc-v669", "kubeproof.local/workload:a5c203275ff4",
		"node-stop: workload recovers and the node heals", "checks outside --label-filter",
		`class="steps"`, `class="bars"`, "1 pod<", // singular unit
		`id="conformance"`, "e2e.test v1.34.4", "2 of 2", "yes: the whole set ran", `href="conformance/e2e.log"`, `href="conformance/junit_01.xml"`,
		`id="area-conformance"`, "should serve a basic endpoint from pods",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if got := strings.Count(page, `<svg class="timeline"`); got != 4 {
		t.Errorf("report has %d timelines, want one per fault scenario (4)", got)
	}
	got, err := EmbeddedDigest(strings.NewReader(page))
	if err != nil || got != digest {
		t.Errorf("EmbeddedDigest = %q, %v; want %q", got, err, digest)
	}
}

func TestReportCertified(t *testing.T) {
	run := withConformance(loadTestRun(t))
	run.LabelFilter, run.LeftOut = "", []string{contract.PreUpgradeLeftOut}
	if page := render(t, run); !strings.Contains(page, `>CERTIFIED<`) || !strings.Contains(page, `class="verdict certified"`) {
		t.Error("every check of the profile passed and the whole conformance set passed: want CERTIFIED")
	}
}

func TestReportNotCertified(t *testing.T) {
	if page := render(t, loadTestRun(t)); !strings.Contains(page, ">NOT CERTIFIED<") || !strings.Contains(page, "the upstream conformance suite did not run") {
		t.Error("kubeproof's own checks passed without the upstream conformance suite: want NOT CERTIFIED saying the suite did not run")
	}
	failedSpec := withConformance(loadTestRun(t))
	last := &failedSpec.Checks[len(failedSpec.Checks)-1]
	last.Verdict, last.Reason = results.Failed, "timed out waiting for the condition on pods"
	page := render(t, failedSpec)
	for _, want := range []string{">NOT CERTIFIED<", "1 of 2 required specs passed, 1 failed", "conformance: [sig-apps] Deployment RollingUpdateDeployment", "timed out waiting for the condition on pods", `<b style="color:var(--fail)">1 failed</b>`} {
		if !strings.Contains(page, want) {
			t.Errorf("report of a run with a failed conformance spec lacks %q", want)
		}
	}
	partial := withConformance(loadTestRun(t))
	partial.Conformance.Partial = "not valid for certification: --focus \"Services\" ran part of the conformance set"
	if page := render(t, partial); !strings.Contains(page, ">NOT CERTIFIED<") || !strings.Contains(page, "<b>no</b>: not valid for certification") {
		t.Error("a partial conformance run: want NOT CERTIFIED and the run marked not valid for certification")
	}

	run := withConformance(loadTestRun(t))
	for i := range run.Checks {
		if run.Checks[i].Name == "Service A records" {
			run.Checks[i].Verdict, run.Checks[i].Reason = results.Failed, "lookup web.ns.svc.cluster.local: want 10.96.0.10, got NXDOMAIN"
		}
	}
	page = render(t, run)
	for _, want := range []string{`class="verdict not-certified"`, ">NOT CERTIFIED<", "1 of 15 checks failed", "got NXDOMAIN", `class="check failed"`} {
		if !strings.Contains(page, want) {
			t.Errorf("report of a failed run lacks %q", want)
		}
	}

	empty := &results.Run{SchemaVersion: results.SchemaVersion, RunID: "empty", Profile: "certification"}
	if page := render(t, empty); !strings.Contains(page, ">NOT CERTIFIED<") {
		t.Error("a run without checks must not be certified")
	}
	core := loadTestRun(t)
	core.Profile = "core"
	if page := render(t, core); !strings.Contains(page, ">core profile: passed<") || strings.Contains(page, "CERTIFIED") {
		t.Error("a core run passes its profile; only the certification profile certifies")
	}
}

func TestReportEscapesEverything(t *testing.T) {
	const evil = `<script>alert(1)</script>`
	run := &results.Run{SchemaVersion: results.SchemaVersion, RunID: evil, Profile: evil,
		Cluster:   results.Cluster{ServerVersion: evil, Nodes: []results.Node{{Name: evil, Roles: []string{evil}}}},
		LeftOut:   []string{evil},
		Leftovers: []string{evil},
		Checks: []results.Check{{ID: evil, Area: evil, Name: evil, Must: evil, Verdict: results.Failed, Reason: evil, Diagnostics: evil, Targets: []string{evil},
			Measurements: []results.Measurement{
				{Name: "phase: " + evil, Value: 3, Unit: "s"},
				{Name: evil, Value: 50, Unit: "%", Series: []results.Point{{T: 0, V: 100}, {T: 1, V: 0}}},
				{Name: "surge " + evil, Value: 1, Unit: evil, Series: []results.Point{{T: 0, V: 1}}},
				{Name: evil, Value: 2, Unit: "ms"},
			}},
			{ID: "s", Area: evil, Name: evil, Verdict: results.Skipped, Reason: evil}},
	}
	page := render(t, run)
	if strings.Contains(strings.ToLower(page), "<script") {
		t.Errorf("a string from the results reached the page unescaped:\n%s", page)
	}
	if !strings.Contains(page, "&lt;script&gt;") {
		t.Error("escaped text missing: was the string dropped instead of escaped?")
	}
}

// chromium returns the browser the rendering test drives. CI sets
// KUBEPROOF_REQUIRE_CHROMIUM=1 so a missing browser fails there instead of
// silently skipping the only test that looks at the page as a reader would.
func chromium(t *testing.T) string {
	const path = "/usr/bin/chromium"
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("KUBEPROOF_REQUIRE_CHROMIUM") == "1" {
			t.Fatalf("KUBEPROOF_REQUIRE_CHROMIUM=1 but %s is missing (apt-get install -y chromium)", path)
		}
		t.Skipf("%s is missing (apt-get install -y chromium, or set KUBEPROOF_REQUIRE_CHROMIUM=1 to fail instead)", path)
	}
	return path
}

// runChromium runs one headless browser with its own profile directory and
// no background services, and returns its stdout and stderr.
func runChromium(t *testing.T, browser string, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, browser, append(base, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, tail(errOut.String(), 2000))
	}
	return out.String(), errOut.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// cspViolation is how Chromium's console reports a fetch the page's
// Content-Security-Policy blocked: the page tried to load something.
var cspViolation = regexp.MustCompile(`(?i)violates the following Content Security Policy`)

func TestReportInChromium(t *testing.T) {
	browser := chromium(t)
	dir := t.TempDir()
	report := filepath.Join(dir, "report.html")
	if err := WriteFile(loadTestRun(t), report); err != nil {
		t.Fatal(err)
	}
	url := "file://" + report

	shot := filepath.Join(dir, "report.png")
	runChromium(t, browser, "--screenshot="+shot, "--window-size=1280,2000", url)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("screenshot %s is not a PNG: %v", shot, err)
	}
	if info, _ := f.Stat(); cfg.Width != 1280 || cfg.Height != 2000 || info.Size() < 50_000 {
		// A blank 1280x2000 page compresses to a few kilobytes.
		t.Errorf("screenshot is %dx%d, %d bytes: want 1280x2000 with content", cfg.Width, cfg.Height, info.Size())
	}

	// The DOM as Chromium parsed it, and its console: a fetch the page
	// attempted would show as a Content-Security-Policy violation.
	dom, logs := runChromium(t, browser, "--enable-logging=stderr", "--v=1", "--dump-dom", url)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`<section id="verdict"[^>]*>`),
		regexp.MustCompile(`id="fingerprint"`),
		regexp.MustCompile(`<svg class="timeline"`),
		regexp.MustCompile(`http-equiv="Content-Security-Policy"`),
	} {
		if !want.MatchString(dom) {
			t.Errorf("rendered DOM lacks %s", want)
		}
	}
	if m := cspViolation.FindString(logs); m != "" {
		t.Errorf("the page tried to load something from outside the file:\n%s", grepLines(logs, cspViolation))
	}
}

// TestChromiumReportsBlockedFetches is the control for the check above: a
// page with the report's policy that does try to fetch must be caught.
func TestChromiumReportsBlockedFetches(t *testing.T) {
	browser := chromium(t)
	page := filepath.Join(t.TempDir(), "fetches.html")
	// .invalid never resolves, should the policy not hold.
	html := `<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'"></head>` +
		`<body><svg><image href="http://kubeproof.invalid/x.png"/></svg></body></html>`
	if err := os.WriteFile(page, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	_, logs := runChromium(t, browser, "--enable-logging=stderr", "--v=1", "--dump-dom", "file://"+page)
	if !cspViolation.MatchString(logs) {
		t.Fatal("Chromium did not report the blocked fetch: the report's no-fetch check would pass vacuously")
	}
}

func grepLines(s string, re *regexp.Regexp) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if re.MatchString(l) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
