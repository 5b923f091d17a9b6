package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeproof/kubeproof/internal/exitcode"
	"github.com/kubeproof/kubeproof/reporters/diff"
	"github.com/kubeproof/kubeproof/reporters/results"
)

// A real results file of a core networking run, shared with reporters/diff.
const realResults = "../../../reporters/diff/testdata/before.json"

const regressing = "pod-to-pod across every pair of nodes over HTTP and UDP"

// failingCopy saves realResults with one check failing and returns its path.
func failingCopy(t *testing.T) string {
	t.Helper()
	run, err := results.Load(realResults)
	if err != nil {
		t.Fatal(err)
	}
	run.RunID = "20261126-090000"
	for i := range run.Checks {
		if run.Checks[i].Name == regressing {
			run.Checks[i].Verdict, run.Checks[i].Reason = results.Failed, "want a reply within 2s, got Timeout after 2s"
		}
	}
	run.Recount()
	path := filepath.Join(t.TempDir(), "after.json")
	if err := run.Save(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// execute runs `kubeproof report ARGS...` as main would and returns its
// output and exit code.
func execute(t *testing.T, args ...string) (string, int, error) {
	t.Helper()
	c := New()
	var out bytes.Buffer
	c.SetOut(&out)
	c.SetErr(&out)
	c.SetArgs(args)
	c.SilenceUsage, c.SilenceErrors = true, true
	err := c.Execute()
	return out.String(), exitcode.Of(err), err
}

func TestDiffExitsOneAndListsTheRegressionFirst(t *testing.T) {
	after := failingCopy(t)
	out, code, err := execute(t, "diff", realResults, after)
	if code != exitcode.CheckFailed {
		t.Fatalf("exit code %d (%v), want %d", code, err, exitcode.CheckFailed)
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, regressing) {
		t.Errorf("error %q: want one line naming the regressed check", msg)
	}
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "CHANGE") {
			if next := lines[i+1]; !strings.HasPrefix(next, "REGRESSED") || !strings.Contains(next, regressing) {
				t.Errorf("first row %q is not the regression", next)
			}
			return
		}
	}
	t.Errorf("no table in the output:\n%s", out)
}

func TestDiffFormats(t *testing.T) {
	after := failingCopy(t)
	for format, want := range map[string]string{"markdown": "| **REGRESSED** |", "json": `"regressions": [`} {
		var out bytes.Buffer
		err := Diff(realResults, after, format, diff.DefaultOptions, &out)
		if exitcode.Of(err) != exitcode.CheckFailed || !strings.Contains(out.String(), want) {
			t.Errorf("--format %s: exit %d, output lacks %q:\n%s", format, exitcode.Of(err), want, out.String())
		}
	}
}

func TestDiffWithoutRegressionExitsZero(t *testing.T) {
	after := failingCopy(t)
	// Reversed, the change is a fix.
	out, code, err := execute(t, "diff", after, realResults, "--threshold", "0.2", "--floor", "0.1")
	if code != exitcode.OK {
		t.Fatalf("exit code %d (%v), want 0", code, err)
	}
	if !strings.Contains(out, "FIXED") {
		t.Errorf("output does not list the fix:\n%s", out)
	}
}

// badInputs are files `report` must refuse with exit code 2.
func badInputs(t *testing.T) map[string]string {
	t.Helper()
	valid, err := os.ReadFile(realResults)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string][]byte{
		"other.json":     []byte(`{"tests": 3, "failures": 0}`),
		"junit.xml":      []byte(`<?xml version="1.0" encoding="UTF-8"?><testsuites/>`),
		"v9.json":        bytes.Replace(valid, []byte(results.SchemaVersion), []byte("kubeproof.io/results/v9"), 1),
		"truncated.json": valid[:len(valid)/3],
	}
	paths := map[string]string{}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		paths[name] = p
	}
	paths["missing.json"] = filepath.Join(dir, "missing.json")
	return paths
}

func TestBadInputExitsTwoWithOneLine(t *testing.T) {
	for name, bad := range badInputs(t) {
		for _, args := range [][]string{
			{"html", bad, "-o", filepath.Join(t.TempDir(), "r.html")},
			{"verify", bad},
			{"markdown", bad},
			{"diff", bad, realResults},
			{"diff", realResults, bad},
		} {
			_, code, err := execute(t, args...)
			if code != exitcode.Usage {
				t.Errorf("%s %s: exit code %d (%v), want %d", args[0], name, code, err, exitcode.Usage)
				continue
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.HasPrefix(msg, bad+": ") {
				t.Errorf("%s %s: error %q: want one line that starts with the file", args[0], name, msg)
			}
		}
	}
}

func TestWrongArgumentsExitTwo(t *testing.T) {
	for _, args := range [][]string{{"diff", realResults}, {"html"}, {"verify", "a", "b", "c"}, {"diff", realResults, realResults, "--format", "xml"}} {
		if _, code, err := execute(t, args...); code != exitcode.Usage {
			t.Errorf("%v: exit code %d (%v), want %d", args, code, err, exitcode.Usage)
		}
	}
}

func TestVerify(t *testing.T) {
	dir := t.TempDir()
	resultsPath := filepath.Join(dir, "results.json")
	data, err := os.ReadFile(realResults)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(resultsPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, code, err := execute(t, "html", resultsPath)
	reportPath := filepath.Join(dir, "report.html") // the default: next to the results
	if code != 0 || !strings.Contains(out, reportPath) {
		t.Fatalf("report html: exit %d (%v), output %q", code, err, out)
	}

	if out, code, err := execute(t, "verify", resultsPath, reportPath); code != 0 || !strings.HasPrefix(out, "verified") {
		t.Errorf("verify of a fresh report: exit %d (%v), output %q", code, err, out)
	}

	// A report of other results.
	other := failingCopy(t)
	if _, code, err := execute(t, "verify", other, reportPath); code != exitcode.CheckFailed || !strings.Contains(err.Error(), "mismatch") {
		t.Errorf("verify against other results: exit %d (%v), want 1 and a mismatch", code, err)
	}

	// The same results, re-indented: the bytes are no longer canonical.
	reindented := filepath.Join(dir, "reindented.json")
	if err := os.WriteFile(reindented, bytes.ReplaceAll(data, []byte("\n  "), []byte("\n\t")), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, code, err := execute(t, "verify", reindented); code != exitcode.CheckFailed || !strings.Contains(err.Error(), "changed after kubeproof wrote it") {
		t.Errorf("verify of a re-indented file: exit %d (%v), want 1", code, err)
	}

	// A verdict flipped in place keeps the layout canonical; the summary
	// gives it away.
	flipped := filepath.Join(dir, "flipped.json")
	if err := os.WriteFile(flipped, bytes.Replace(data, []byte(`"verdict": "passed"`), []byte(`"verdict": "failed"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, code, err := execute(t, "verify", flipped); code != exitcode.CheckFailed || !strings.Contains(err.Error(), "summary") {
		t.Errorf("verify of a flipped verdict: exit %d (%v), want 1", code, err)
	}

	// A file that is not a kubeproof report is bad input, not a mismatch.
	if _, code, err := execute(t, "verify", resultsPath, realResults); code != exitcode.Usage {
		t.Errorf("verify with a non-report: exit %d (%v), want 2", code, err)
	}
}

func TestMarkdown(t *testing.T) {
	out, code, err := execute(t, "markdown", failingCopy(t))
	if code != exitcode.OK {
		t.Fatalf("exit %d (%v)", code, err)
	}
	for _, want := range []string{"core profile: failed", "**8 passed**, **1 failed**", "### Failed checks", regressing + " | want a reply within 2s", "### Key measurements"} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
}
