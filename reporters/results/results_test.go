package results

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubeproof/kubeproof/suites/contract"
)

func sampleRun() *Run {
	return &Run{
		SchemaVersion: SchemaVersion, RunID: "20261125-130739", KubeproofVersion: "dev", Profile: "core",
		StartedAt: time.Date(2026, 11, 25, 13, 7, 39, 831159745, time.UTC), FinishedAt: time.Date(2026, 11, 25, 13, 7, 58, 0, time.UTC),
		Cluster: Cluster{ServerVersion: "v1.34.4", Nodes: []Node{{Name: "dev-worker", KubeletVersion: "v1.34.4"}}},
		Checks: []Check{{ID: "pod networking <a & b>", Area: "networking", Name: "pod-to-pod", Verdict: Passed, Seconds: 3.34,
			Measurements: []Measurement{{Name: "latency", Value: 1.5105, Unit: "ms", Series: []Point{{T: -4.069349463, V: 100}}}}}},
	}
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The digest `kubeproof report verify` checks is only meaningful if a
// saved file is byte for byte the canonical encoding of what it loads as.
func TestSavedFileIsCanonical(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.json")
	if err := sampleRun().Save(path); err != nil {
		t.Fatal(err)
	}
	run, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	digest, err := run.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if digest != hex.EncodeToString(sum[:]) {
		t.Errorf("digest of the loaded run %s differs from the file's SHA-256 %x", digest, sum)
	}
}

func TestLoadRejectsBadInput(t *testing.T) {
	valid, err := sampleRun().Canonical()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, file string
		data       []byte
		want       string
	}{
		{"JSON that is not kubeproof's", "other.json", []byte(`{"name": "some other tool", "tests": 3}`), "no schemaVersion field"},
		{"not JSON at all (a JUnit file)", "junit.xml", []byte(`<?xml version="1.0"?>` + "\n<testsuites/>\n"), "invalid or truncated JSON"},
		{"unknown schema version", "v2.json", []byte(strings.Replace(string(valid), SchemaVersion, "kubeproof.io/results/v2", 1)), `unknown schema version "kubeproof.io/results/v2"`},
		{"truncated file", "truncated.json", valid[:len(valid)/2], "invalid or truncated JSON"},
		{"empty file", "empty.json", nil, "invalid or truncated JSON"},
		{"unknown field", "extra.json", []byte(strings.Replace(string(valid), `"runID"`, `"color": "blue", "runID"`, 1)), `unknown field "color"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, tc.file, tc.data)
			_, err := Load(path)
			if err == nil {
				t.Fatal("Load accepted it")
			}
			msg := err.Error()
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %q does not wrap ErrInvalid", msg)
			}
			if !strings.HasPrefix(msg, path+": ") {
				t.Errorf("error %q does not start with the file's name", msg)
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not say %q", msg, tc.want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
		})
	}
}

func TestLoadMissingFileNamesIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.json")
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), path) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(%s) = %v: want a not-exist error naming the file", path, err)
	}
}

func TestOutcome(t *testing.T) {
	whole := &Conformance{Version: "v1.34.4", Required: 2}
	partial := &Conformance{Version: "v1.34.4", Required: 2, Partial: "not valid for certification: --focus \"x\" ran part of the conformance set"}
	for _, tc := range []struct {
		profile  string
		verdicts []string
		reasons  []string
		word     string
		pass     bool
		conf     *Conformance
		specs    []string // the conformance specs' verdicts
		why      string
	}{
		{"certification", []string{Passed, Skipped}, []string{"", NotSelected}, "CERTIFIED", true, whole, []string{Passed, Passed}, "2 of 2 required specs passed"},
		// kubeproof's checks alone certify nothing.
		{"certification", []string{Passed, Skipped}, []string{"", NotSelected}, "NOT CERTIFIED", false, nil, nil, "the upstream conformance suite did not run"},
		{"certification", []string{Passed}, nil, "NOT CERTIFIED", false, whole, []string{Passed, Failed}, "1 of 2 required specs passed, 1 failed"},
		{"certification", []string{Passed}, nil, "NOT CERTIFIED", false, whole, []string{Passed}, "1 of 2 required specs passed"},
		{"certification", []string{Passed}, nil, "NOT CERTIFIED", false, partial, []string{Passed, Passed}, "not valid for certification"},
		{"certification", []string{Failed}, nil, "NOT CERTIFIED", false, whole, []string{Passed, Passed}, "1 of 1 checks failed"},
		{"certification", []string{Passed, Failed}, nil, "NOT CERTIFIED", false, nil, nil, ""},
		// A filter or a focus that left checks of the profile out.
		{"certification", []string{Passed, Skipped}, []string{"", NotSelected}, "NOT CERTIFIED", false, whole, []string{Passed, Passed}, "not valid for certification: left out checks outside --label-filter area:nodes"},
		{"certification", []string{Passed, Skipped}, []string{"", NotSelected}, "NOT CERTIFIED", false, whole, []string{Passed, Passed}, "not valid for certification: left out disruptive checks: no consent"},
		{"certification", []string{Skipped}, []string{NotSelected}, "NOT CERTIFIED", false, whole, []string{Passed, Passed}, "no check ran"}, // nothing of its own ran, nothing proven
		{"certification", nil, nil, "NOT CERTIFIED", false, nil, nil, ""},
		// Skipped at run time: selected, and not checked.
		{"certification", []string{Passed, Skipped}, []string{"", "needs 2 schedulable nodes, the cluster has 1"}, "NOT CERTIFIED", false, nil, nil, ""},
		{"core", []string{Passed, Skipped}, []string{"", NotSelected}, "core profile: passed", true, nil, nil, ""},
		{"core", []string{Passed, Failed}, nil, "core profile: failed", false, nil, nil, ""},
		// Not checked on policy: the profile passes, and says what is unproven.
		{"core", []string{Passed, Skipped}, []string{"", "not checked: the cluster's policy forbids host-network pods"}, "core profile: passed", true, nil, nil, ""},
		{"", []string{Passed}, nil, "selected checks: passed", true, nil, nil, ""},
	} {
		r := &Run{Profile: tc.profile, Conformance: tc.conf, LeftOut: []string{contract.PreUpgradeLeftOut}}
		switch {
		case strings.Contains(tc.why, "--label-filter"):
			r.LeftOut = append(r.LeftOut, "checks outside --label-filter area:nodes")
		case strings.Contains(tc.why, "no consent"):
			r.LeftOut = append(r.LeftOut, "disruptive checks: no consent to break this cluster (pass --allow-disruptive, or use --kind)")
		}
		for i, v := range tc.verdicts {
			c := Check{Name: fmt.Sprint("check ", i), Verdict: v}
			if i < len(tc.reasons) {
				c.Reason = tc.reasons[i]
			}
			r.Checks = append(r.Checks, c)
		}
		for i, v := range tc.specs {
			r.Checks = append(r.Checks, Check{Area: ConformanceArea, Name: fmt.Sprint("spec ", i), Verdict: v})
		}
		o := r.Outcome()
		if o.Word != tc.word || o.Pass != tc.pass || !strings.Contains(o.Why, tc.why) {
			t.Errorf("%s %v %v, conformance %+v %v: got %q pass=%t (%s), want %q pass=%t saying %q", tc.profile, tc.verdicts, tc.reasons, tc.conf, tc.specs, o.Word, o.Pass, o.Why, tc.word, tc.pass, tc.why)
		}
		if len(tc.reasons) > 1 && tc.reasons[1] != "" && tc.reasons[1] != NotSelected && !strings.Contains(o.Why, tc.reasons[1]) {
			t.Errorf("the verdict must say what was not checked and why: %s", o.Why)
		}
	}
}

func TestFailuresByNode(t *testing.T) {
	r := &Run{Cluster: Cluster{Nodes: []Node{{Name: "kp-worker"}, {Name: "kp-worker2"}, {Name: "kp-control-plane"}}}}
	for _, c := range []struct{ name, verdict, reason string }{
		{"a", Failed, "pod client on kp-worker2 -> 10.244.2.7:8080: timeout"},
		{"b", Failed, "want every schedulable node Ready, got not Ready: kp-worker2 (Ready=Unknown)"},
		{"c", Failed, "NodePort 30080 on kp-worker (172.18.0.3): refused"},
		{"d", Passed, "kp-worker2"},
	} {
		r.Checks = append(r.Checks, Check{Name: c.name, Verdict: c.verdict, Reason: c.reason})
	}
	got := r.FailuresByNode()
	if len(got) != 2 || got[0].Node != "kp-worker2" || len(got[0].Checks) != 2 || got[1].Node != "kp-worker" || len(got[1].Checks) != 1 {
		t.Errorf("FailuresByNode = %+v: want kp-worker2 (a, b) first, then kp-worker (c) alone: a name that is a prefix of another must not match it", got)
	}
}
