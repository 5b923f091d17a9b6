package upgradehtml

import (
	"bytes"
	"flag"
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubeproof/kubeproof/reporters/upgrade"
)

// go test ./reporters/upgradehtml -args -sample /tmp/upgrade-sample.html
// writes the test's rehearsal there, to be looked at.
var sample = flag.String("sample", "", "also write the test rehearsal's report to this file")

func testRehearsal() *upgrade.Rehearsal {
	t0 := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	outage := t0.Add(31 * time.Second)
	zero := 0.0
	var web, dns []upgrade.Point
	for s := range 70 {
		p := upgrade.Point{Second: s, OK: 10}
		switch {
		case s >= 31 && s < 34:
			p.OK, p.Failed = 0, 10
		case s == 34:
			p.OK, p.Failed = 6, 4
		}
		web = append(web, p)
		if s%15 != 7 { // dns is asked less often: some seconds see no request
			dns = append(dns, upgrade.Point{Second: s, OK: 2})
		}
	}
	return &upgrade.Rehearsal{
		SchemaVersion: upgrade.SchemaVersion, RunID: "20250304-100000-ab12",
		Cluster: "kubeproof", Namespace: "kubeproof-upgrade", From: "v1.33.4", To: "1.34.1", Profile: "core",
		Started: t0, Ended: t0.Add(72 * time.Second), Verdict: "failed",
		Findings: []upgrade.Finding{{Kind: "downtime", Message: "clusterip/web: down 3.4 s from +31s, budget 0 s (the Service has 2 ready replicas)"}},
		Before:   upgrade.ProfileRun{Dir: "runs/before", Version: "v1.33.4", Verdict: "core profile: passed", Passed: 14},
		After:    upgrade.ProfileRun{Dir: "runs/after", Version: "v1.34.1", Verdict: "core profile: passed", Passed: 14},
		Diff:     "no change in verdicts: 14 checks passed in both",
		Steps: []upgrade.Step{
			{Name: "upgrade control plane", Node: "kubeproof-control-plane", Start: t0.Add(2 * time.Second), Seconds: 24.5,
				Skew: "apiserver v1.34.1, kubeproof-control-plane v1.34.1, kubeproof-worker v1.33.4"},
			{Name: "drain and upgrade node", Node: "kubeproof-worker", Start: t0.Add(28 * time.Second), Seconds: 40.2,
				Skew: "apiserver v1.34.1, kubeproof-control-plane v1.34.1, kubeproof-worker v1.34.1"},
		},
		Probes: []upgrade.Probe{
			{Name: "clusterip/web", Description: "GET through the ClusterIP Service, 10 a second", Requests: 700, Failed: 34,
				Errors: map[string]int{"timeout": 30, "refused": 4}, LongestOutageSeconds: 3.4, OutageStart: &outage,
				BudgetSeconds: &zero, BudgetSource: "2 replicas and a PodDisruptionBudget: no downtime allowed", Series: web},
			{Name: "dns", Description: "resolve the Service's name, 2 a second", Requests: 130,
				BudgetSource: "a single CoreDNS replica", Series: dns},
		},
		Objects: []upgrade.Object{
			{Kind: "ConfigMap", Name: "kubeproof-upgrade/settings", Before: "uid 1f2e, sha256 9a0b", After: "uid 1f2e, sha256 9a0b"},
			{Kind: "PersistentVolumeClaim", Name: "kubeproof-upgrade/data", Before: "pvc-77aa, sha256 c3d4", After: "pvc-77aa, sha256 e5f6", Changed: "data digest"},
		},
		Pods: []upgrade.PodStory{{Owner: "Deployment/web", Evictions: 2, Restarts: 0, Nodes: map[string]int{"kubeproof-worker": 1, "kubeproof-control-plane": 1}}},
	}
}

func TestWrite(t *testing.T) {
	r := testRehearsal()
	var buf bytes.Buffer
	if err := Write(r, &buf); err != nil {
		t.Fatal(err)
	}
	// html/template writes some characters as entities (+ as &#43;).
	page := html.UnescapeString(buf.String())
	for _, want := range []string{
		"Upgrade rehearsal v1.33.4 → v1.34.1", ">FAILED<",
		"clusterip/web: down 3.4 s from +31s, budget 0 s",
		"clusterip/web", "dns", "upgrade control plane", "drain and upgrade node",
		"measured, not judged", "3.4 s at +31s", "refused=4, timeout=30", "kubeproof-control-plane=1, kubeproof-worker=1",
		`<tr class="changed">`, `<svg class="timeline"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "http://", "https://"} {
		if strings.Contains(strings.ToLower(buf.String()), bad) {
			t.Errorf("report is not self-contained: it has %q", bad)
		}
	}
	if *sample != "" {
		if err := WriteFile(r, *sample); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWriteFileAndEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "upgrade.html")
	r := &upgrade.Rehearsal{SchemaVersion: upgrade.SchemaVersion, Verdict: "passed"}
	if err := WriteFile(r, path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{">PASSED<", "No finding", "no step and no probe"} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("report of an empty rehearsal lacks %q", want)
		}
	}
}

func TestEscapes(t *testing.T) {
	const evil = `<script>alert(1)</script>`
	r := testRehearsal()
	r.Findings[0].Message, r.Steps[0].Name, r.Probes[0].Name, r.Objects[0].Changed = evil, evil, evil, evil
	var buf bytes.Buffer
	if err := Write(r, &buf); err != nil {
		t.Fatal(err)
	}
	if page := buf.String(); strings.Contains(page, "<script") || !strings.Contains(page, "&lt;script&gt;") {
		t.Error("a string from the model reached the page unescaped, or was dropped")
	}
}
