package bundle

import (
	"fmt"
	"io"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Check is the outcome of one rule.
type Check struct {
	// Name says which rule, e.g. "required specs".
	Name string
	// OK is true when the folder meets the rule.
	OK bool
	// Detail is one line saying what was wanted and what was seen.
	Detail string
}

// Report is the outcome of Verify: one check per rule, in a fixed order.
type Report struct {
	Checks []Check
}

// OK is true when every check passed.
func (r Report) OK() bool {
	for _, c := range r.Checks {
		if !c.OK {
			return false
		}
	}
	return true
}

// Print writes one line per check: PASS or FAIL, its name and its detail.
func (r Report) Print(w io.Writer) {
	for _, c := range r.Checks {
		status := "PASS"
		if !c.OK {
			status = "FAIL"
		}
		if _, err := fmt.Fprintf(w, "%s %s: %s\n", status, c.Name, c.Detail); err != nil {
			return // a writer that fails once will not take the rest
		}
	}
}

// Verify checks a submission folder (…/vX.Y/<product>) against the rules
// of the CNCF conformance bot, as of now, and against required, the specs
// of that release's conformance.yaml. doc.go lists the rules and where
// each comes from.
func Verify(folder string, required []Spec, now time.Time) Report {
	ev := readEvidence(folder)
	return Report{Checks: []Check{
		checkFilesPresent(ev),
		checkNoExtraFiles(ev),
		checkFolderLayout(ev),
		checkProductFields(ev),
		checkProductFormats(ev),
		checkProductType(ev),
		checkSupportedRelease(ev, now),
		checkLogVersion(ev),
		checkFullRun(ev),
		checkRequiredSpecs(ev, required),
		checkJUnitPassed(ev),
		checkLogPassed(ev),
		checkSameSpecs(ev),
	}}
}

func pass(name, format string, args ...any) Check {
	return Check{Name: name, OK: true, Detail: oneLine(fmt.Sprintf(format, args...))}
}

func fail(name, format string, args ...any) Check {
	return Check{Name: name, Detail: oneLine(fmt.Sprintf(format, args...))}
}

// oneLine keeps a detail on one line whatever an error message holds.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

// checkFilesPresent: the four required files are there and not empty.
func checkFilesPresent(ev evidence) Check {
	const name = "required files"
	var problems []string
	for _, file := range requiredFiles {
		info, err := os.Stat(filepath.Join(ev.folder, file))
		switch {
		case err != nil:
			problems = append(problems, file+" missing")
		case !info.Mode().IsRegular():
			problems = append(problems, file+" not a file")
		case info.Size() == 0:
			problems = append(problems, file+" empty")
		}
	}
	if len(problems) > 0 {
		return fail(name, "want %s present and non-empty, got %s", strings.Join(requiredFiles, ", "), strings.Join(problems, ", "))
	}
	return pass(name, "%s present and non-empty", strings.Join(requiredFiles, ", "))
}

// checkNoExtraFiles: the folder holds the required files and nothing else.
func checkNoExtraFiles(ev evidence) Check {
	const name = "no extra files"
	entries, err := os.ReadDir(ev.folder)
	if err != nil {
		return fail(name, "want a folder to list, got %v", err)
	}
	var extra []string
	for _, e := range entries {
		if !slices.Contains(requiredFiles, e.Name()) {
			extra = append(extra, e.Name())
		}
	}
	if len(extra) > 0 {
		return fail(name, "want only %s, got extra %s", strings.Join(requiredFiles, ", "), names(extra))
	}
	return pass(name, "no other files")
}

// checkFolderLayout: the folder sits at v1.NN/<product>.
func checkFolderLayout(ev evidence) Check {
	const name = "folder layout"
	at := ev.release + "/" + filepath.Base(ev.folder)
	if ev.minor < 0 {
		return fail(name, "want the folder at v1.NN/<product>, e.g. v1.34/turbo-encabulator, got %q", at)
	}
	return pass(name, "%s", at)
}

// productField is one PRODUCT.yaml field by its YAML key.
type productField struct{ key, value string }

// requiredFields are the fields the bot requires set, in its order.
func requiredFields(p Product) []productField {
	return []productField{
		{"vendor", p.Vendor}, {"name", p.Name}, {"version", p.Version}, {"type", p.Type},
		{"description", p.Description}, {"website_url", p.WebsiteURL},
		{"documentation_url", p.DocumentationURL}, {"contact_email_address", p.ContactEmailAddress},
	}
}

// checkProductFields: PRODUCT.yaml parses and sets every required field.
func checkProductFields(ev evidence) Check {
	const name = "product fields"
	if ev.productErr != nil {
		return fail(name, "PRODUCT.yaml: want YAML with the product's fields, got %v", ev.productErr)
	}
	var want, missing []string
	for _, f := range requiredFields(ev.product) {
		want = append(want, f.key)
		if strings.TrimSpace(f.value) == "" {
			missing = append(missing, f.key)
		}
	}
	if len(missing) > 0 {
		return fail(name, "PRODUCT.yaml: want %s set, got %s missing", strings.Join(want, ", "), strings.Join(missing, ", "))
	}
	return pass(name, "PRODUCT.yaml: all %d required fields set", len(want))
}

// checkProductFormats: the URL fields hold http(s) URLs and the contact
// field a mail address. Empty fields are left to checkProductFields.
func checkProductFormats(ev evidence) Check {
	const name = "product URLs and email"
	if ev.productErr != nil {
		return fail(name, "PRODUCT.yaml: want YAML with the product's fields, got %v", ev.productErr)
	}
	p := ev.product
	urls := []productField{
		{"website_url", p.WebsiteURL}, {"repo_url", p.RepoURL},
		{"documentation_url", p.DocumentationURL}, {"product_logo_url", p.ProductLogoURL},
	}
	var problems []string
	for _, f := range urls {
		if f.value != "" && !isWebURL(f.value) {
			problems = append(problems, fmt.Sprintf("%s %q not an http(s) URL", f.key, f.value))
		}
	}
	if p.ContactEmailAddress != "" {
		if _, err := mail.ParseAddress(p.ContactEmailAddress); err != nil {
			problems = append(problems, fmt.Sprintf("contact_email_address %q not a mail address", p.ContactEmailAddress))
		}
	}
	if len(problems) > 0 {
		return fail(name, "PRODUCT.yaml: want http(s) URLs and a mail address, got %s", strings.Join(problems, ", "))
	}
	return pass(name, "PRODUCT.yaml: URLs and contact address well formed")
}

// isWebURL is stricter than the bot's url.ParseRequestURI, which takes a
// bare path: an absolute http or https URL with a host.
func isWebURL(s string) bool {
	u, err := url.ParseRequestURI(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// productTypes are the allowed values of PRODUCT.yaml's type.
var productTypes = []string{"distribution", "hosted platform", "installer"}

// checkProductType: type is one of the three kinds of product.
func checkProductType(ev evidence) Check {
	const name = "product type"
	if ev.productErr != nil {
		return fail(name, "PRODUCT.yaml: want YAML with the product's fields, got %v", ev.productErr)
	}
	if !slices.Contains(productTypes, ev.product.Type) {
		return fail(name, "PRODUCT.yaml: want type %q, %q or %q, got %q", productTypes[0], productTypes[1], productTypes[2], ev.product.Type)
	}
	return pass(name, "PRODUCT.yaml: type %q", ev.product.Type)
}

// checkSupportedRelease: the folder's release is one the bot still takes.
func checkSupportedRelease(ev evidence, now time.Time) Check {
	const name = "supported release"
	if ev.minor < 0 {
		return fail(name, "want the folder under a release v1.NN, got %q", ev.release)
	}
	oldest, newest, err := supportedMinors(now)
	if err != nil {
		return fail(name, "%v", err)
	}
	on := now.Format(time.DateOnly)
	if ev.minor < oldest || ev.minor > newest {
		return fail(name, "want v1.%d to v1.%d (the newest %d minors on %s), got %s", oldest, newest, supportedCount, on, ev.release)
	}
	return pass(name, "%s is supported on %s (v1.%d to v1.%d)", ev.release, on, oldest, newest)
}

// checkLogVersion: the e2e.test binary that ran is of the folder's release.
func checkLogVersion(ev evidence) Check {
	const name = "e2e.log version"
	if ev.logErr != nil {
		return fail(name, "e2e.log: want a readable log, got %v", ev.logErr)
	}
	if ev.minor < 0 {
		return fail(name, "want the folder under a release v1.NN to compare with e2e.log, got %q", ev.release)
	}
	wantLine := fmt.Sprintf("e2e test version: %s.x", ev.release)
	if ev.log.version == "" {
		return fail(name, "e2e.log: want a line %q, got none (log a verbose run: ginkgo -v)", wantLine)
	}
	if release, err := releaseOf(ev.log.version); err != nil || release != ev.release {
		return fail(name, "e2e.log: want %q to match the folder, got %s", wantLine, ev.log.version)
	}
	return pass(name, "e2e.log: e2e test version %s matches the folder %s", ev.log.version, ev.release)
}

// certifiedFocus is the focus of a certification run: Sonobuoy's
// certified-conformance mode, Hydrophone's --conformance and
// instructions.md's E2E_FOCUS all use it.
const certifiedFocus = `\[Conformance\]`

// checkFullRun: the run was not narrowed. A certification run focuses on
// [Conformance] and skips nothing; JUnit records the run's filters.
func checkFullRun(ev evidence) Check {
	const name = "full conformance run"
	const want = `not valid for certification: want focus \[Conformance\] and no skip, label or file filter, and no dry run`
	if ev.junitErr != nil {
		return fail(name, "junit_01.xml: want a readable JUnit report, got %v", ev.junitErr)
	}
	props := ev.junit.props
	if props == nil {
		return fail(name, "junit_01.xml: %s, got no record of the run's filters (no <properties>)", want)
	}
	var problems []string
	if props["FocusStrings"] != certifiedFocus {
		problems = append(problems, "FocusStrings="+shown(props["FocusStrings"]))
	}
	for _, key := range []string{"SkipStrings", "LabelFilter", "FocusFiles", "SkipFiles"} {
		if props[key] != "" {
			problems = append(problems, key+"="+props[key])
		}
	}
	if props["DryRun"] == "true" {
		problems = append(problems, "DryRun=true")
	}
	if len(problems) > 0 {
		return fail(name, "junit_01.xml: %s, got %s", want, strings.Join(problems, ", "))
	}
	return pass(name, `junit_01.xml: focus \[Conformance\], no skip, label or file filter`)
}

// shown shows an empty value as "".
func shown(v string) string {
	if v == "" {
		return `""`
	}
	return v
}

// checkRequiredSpecs: every required spec ran (is in junit_01.xml and not
// skipped). Whether it passed is checkJUnitPassed's; the bot reports both
// under "missing or failed".
func checkRequiredSpecs(ev evidence, required []Spec) Check {
	const name = "required specs"
	if ev.junitErr != nil {
		return fail(name, "junit_01.xml: want a readable JUnit report, got %v", ev.junitErr)
	}
	specs := requiredFor(required, ev.minor)
	if len(specs) == 0 {
		return fail(name, "want the required specs of the release (conformance.yaml), got none")
	}
	var missing []string
	for _, s := range specs {
		if !ev.junit.ran[s.Codename] {
			missing = append(missing, s.Codename)
		}
	}
	if len(missing) > 0 {
		return fail(name, "junit_01.xml: want all %d required [Conformance] specs run, got %d: missing %s",
			len(specs), len(specs)-len(missing), names(missing))
	}
	return pass(name, "junit_01.xml: all %d required [Conformance] specs ran", len(specs))
}

// checkJUnitPassed: no testcase in junit_01.xml failed, spec or suite node.
func checkJUnitPassed(ev evidence) Check {
	const name = "junit passed"
	if ev.junitErr != nil {
		return fail(name, "junit_01.xml: want a readable JUnit report, got %v", ev.junitErr)
	}
	if n := len(ev.junit.failed); n > 0 {
		return fail(name, "junit_01.xml: want every testcase passed, got %d failed: %s", n, names(ev.junit.failed))
	}
	return pass(name, "junit_01.xml: no testcase failed")
}

// checkLogPassed: Ginkgo's summary in e2e.log says SUCCESS with 0 failed,
// and no spec in the log failed.
func checkLogPassed(ev evidence) Check {
	const name = "e2e.log passed"
	const want = `"SUCCESS! -- N Passed | 0 Failed"`
	if ev.logErr != nil {
		return fail(name, "e2e.log: want a readable log, got %v", ev.logErr)
	}
	if ev.log.summary == "" {
		return fail(name, "e2e.log: want a Ginkgo summary %s, got none (the run did not finish)", want)
	}
	var failed []string
	for spec, passed := range ev.log.specs {
		if !passed {
			failed = append(failed, spec)
		}
	}
	if !ev.log.success || ev.log.failedCount > 0 || len(failed) > 0 {
		detail := fmt.Sprintf("e2e.log: want %s, got %q", want, ev.log.summary)
		if len(failed) > 0 {
			detail += "; failed " + names(failed)
		}
		return fail(name, "%s", detail)
	}
	return pass(name, "e2e.log: %q", ev.log.summary)
}

// checkSameSpecs: junit_01.xml and e2e.log show the same conformance specs
// running, so both come from the same run.
func checkSameSpecs(ev evidence) Check {
	const name = "junit matches e2e.log"
	if ev.junitErr != nil {
		return fail(name, "junit_01.xml: want a readable JUnit report, got %v", ev.junitErr)
	}
	if ev.logErr != nil {
		return fail(name, "e2e.log: want a readable log, got %v", ev.logErr)
	}
	if len(ev.log.specs) == 0 {
		return fail(name, "e2e.log: want each spec that ran named (log a verbose run: ginkgo -v), got none; junit_01.xml has %d", len(ev.junit.ran))
	}
	var onlyJUnit, onlyLog []string
	for spec := range ev.junit.ran {
		if _, ok := ev.log.specs[spec]; !ok {
			onlyJUnit = append(onlyJUnit, spec)
		}
	}
	for spec := range ev.log.specs {
		if !ev.junit.ran[spec] {
			onlyLog = append(onlyLog, spec)
		}
	}
	if len(onlyJUnit) > 0 || len(onlyLog) > 0 {
		var got []string
		if len(onlyJUnit) > 0 {
			got = append(got, fmt.Sprintf("%d only in junit_01.xml: %s", len(onlyJUnit), names(onlyJUnit)))
		}
		if len(onlyLog) > 0 {
			got = append(got, fmt.Sprintf("%d only in e2e.log: %s", len(onlyLog), names(onlyLog)))
		}
		return fail(name, "want the same [Conformance] specs run in junit_01.xml and e2e.log, got %s", strings.Join(got, "; "))
	}
	return pass(name, "junit_01.xml and e2e.log name the same %d [Conformance] specs", len(ev.junit.ran))
}

// shownNames is how many names a detail lists before counting the rest.
const shownNames = 3

// names lists a few names, sorted and quoted, and counts the rest.
func names(list []string) string {
	sorted := slices.Sorted(slices.Values(list))
	var quoted []string
	for _, n := range sorted[:min(len(sorted), shownNames)] {
		quoted = append(quoted, fmt.Sprintf("%q", n))
	}
	out := strings.Join(quoted, ", ")
	if rest := len(sorted) - shownNames; rest > 0 {
		out += fmt.Sprintf(" and %d more", rest)
	}
	return out
}
