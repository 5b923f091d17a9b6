package markdown

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kubeproof/kubeproof/reporters/results"
)

func TestCell(t *testing.T) {
	got := Cell("a | b\n<service>.<ns> & c")
	if want := `a \| b &lt;service&gt;.&lt;ns&gt; &amp; c`; got != want {
		t.Errorf("Cell = %q, want %q", got, want)
	}
}

func TestWrite(t *testing.T) {
	run := &results.Run{SchemaVersion: results.SchemaVersion, RunID: "r1", Profile: "certification",
		Leftovers: []string{"namespace kubeproof-x"},
		Checks: []results.Check{
			{ID: "a", Area: "resilience", Name: "node-stop", Verdict: results.Passed, Measurements: []results.Measurement{
				{Name: "phase: node NotReady", Value: 19.3, Unit: "s"},
				{Name: "phase: node Ready again after revert", Value: 33.39, Unit: "s"},
				{Name: "traffic success during outage", Value: 71.66666666666667, Unit: "%"},
			}},
			{ID: "b", Area: "networking", Name: "pod-to-pod", Verdict: results.Failed, Reason: "got Timeout | after 2s"},
		}}
	var buf bytes.Buffer
	if err := Write(&buf, run); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"NOT CERTIFIED for profile `certification`",
		"**1 passed**, **1 failed**",
		`| networking | pod-to-pod | got Timeout \| after 2s |`,
		"| last of 2 phases: node Ready again after revert | +33.4 s |",
		"| traffic success during outage | 71.7% |",
		"namespace kubeproof-x",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "phase: node NotReady") {
		t.Error("phases other than the last belong to the HTML timeline, not the summary")
	}
}
