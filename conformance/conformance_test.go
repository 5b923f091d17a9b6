package conformance

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPartialSaysWhy(t *testing.T) {
	if got := Partial("", ""); got != "" {
		t.Errorf("the whole set: want valid, got %q", got)
	}
	got := Partial("DNS", "Serial")
	for _, want := range []string{"not valid for certification", `--focus "DNS"`, `--skip "Serial"`} {
		if !strings.Contains(got, want) {
			t.Errorf("want %q in %q", want, got)
		}
	}
}

func TestReferenceParts(t *testing.T) {
	for ref, want := range map[string][2]string{
		"registry.k8s.io/e2e-test-images/agnhost:2.56": {"agnhost", "2.56"},
		"registry.k8s.io/etcd:3.6.4-0":                 {"etcd", "3.6.4-0"},
		"localhost:5000/e2e/busybox":                   {"busybox", "latest"},
	} {
		if got := [2]string{repoName(ref), tagOf(ref)}; got != want {
			t.Errorf("%s: want %v, got %v", ref, want, got)
		}
	}
}

// A verbose parallel Ginkgo log as e2e.test prints it: a line per
// finished spec comes out, passed or failed.
func TestFollowPrintsALinePerSpec(t *testing.T) {
	log := `Running Suite: Kubernetes e2e suite
Will run 2 of 7144 specs
Running in parallel across 2 processes
------------------------------
• [2.065 seconds]
[sig-node] Pods should get a host IP [NodeConformance] [Conformance] [sig-node, NodeConformance, Conformance]
k8s.io/kubernetes@v1.34.4/test/e2e/common/node/pods.go:205
------------------------------
• [FAILED] [3.661 seconds]
[sig-node] Containers [It] should be able to override the image's default command and arguments [NodeConformance] [Conformance] [sig-node, NodeConformance, Conformance]
`
	var out strings.Builder
	if n := follow(strings.NewReader(log), &out, time.Now(), nil); n != 2 {
		t.Errorf("want the 2 specs Ginkgo said it would run, got %d", n)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{
		"running 2 conformance specs",
		"PASS [sig-node] Pods should get a host IP [NodeConformance] [Conformance] (2.065s)",
		"FAILED [sig-node] Containers [It] should be able to override the image's default command and arguments [NodeConformance] [Conformance] (3.661s)",
	}
	if len(lines) != len(want) {
		t.Fatalf("want %d lines, got %q", len(want), out.String())
	}
	for i, w := range want {
		if !strings.HasSuffix(lines[i], w) {
			t.Errorf("line %d: want it to end with %q, got %q", i, w, lines[i])
		}
	}
}

func TestEstimateSerialAloneParallelSpread(t *testing.T) {
	known := map[string]float64{
		"[sig-a] one [Conformance]":            120,
		"[sig-a] two [Conformance]":            120,
		"[sig-b] three [Serial] [Conformance]": 60,
		"[sig-c] other [Conformance]":          600,
	}
	e := newEstimate(known, "sig-a|sig-b", "", 2)
	if got := e.remaining(); got != 3*time.Minute {
		t.Errorf("want 2 x 120 s over 2 processes + 60 s serial = 3m, got %s", got)
	}
	e.done("[sig-b] three [Serial] [Conformance]")
	if got := e.remaining(); got != 2*time.Minute {
		t.Errorf("after the serial spec: want 2m, got %s", got)
	}
	if newEstimate(known, "nothing known", "", 2) != nil {
		t.Error("no known spec selected: want no estimate")
	}
}

func TestEstimateCountsUntimedSpecsAtTheMean(t *testing.T) {
	known := map[string]float64{
		"[sig-a] one [Conformance]": 100,
		"[sig-b] two [Conformance]": 20,
	}
	e := newEstimate(known, "", "", 2)
	e.runs(12) // 10 specs never timed here, at the mean of 60 s
	if got := e.remaining(); got != 6*time.Minute {
		t.Errorf("want (100 + 20 + 10 x 60) s over 2 processes = 6m, got %s", got)
	}
	e.done("[sig-c] untimed [Conformance]")
	e.done("[sig-a] one [Conformance]")
	if got := e.remaining(); got != 5*time.Minute {
		t.Errorf("after one untimed and one timed spec: want (20 + 9 x 60) s / 2 = 4m40s, 5m to the minute, got %s", got)
	}
}

func TestMovedKeepsPauseAndTheImagesThatMustFail(t *testing.T) {
	for ref, want := range map[string]string{
		"registry.k8s.io/e2e-test-images/agnhost:2.56": "reg:5000/k8s/e2e-test-images/agnhost:2.56",
		"registry.k8s.io/etcd:3.6.4-0":                 "reg:5000/k8s/etcd:3.6.4-0",
		"registry.k8s.io/pause:3.10.1":                 "",
		"invalid.registry.k8s.io/invalid/alpine:3.1":   "",
		"gcr.io/k8s-authenticated-test/agnhost:2.6":    "",
	} {
		if got := moved(ref, "reg:5000/k8s"); got != want {
			t.Errorf("%s: want %q, got %q", ref, want, got)
		}
	}
}

func TestManagedByTellsTheRunsNamespaces(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "e2e-kubeproof-12-34.test", Operation: metav1.ManagedFieldsOperationUpdate}}}}
	if !managedBy(ns, "e2e-kubeproof-12-34.test") {
		t.Error("the run's own namespace: want it recorded")
	}
	if managedBy(ns, "e2e-kubeproof-12-35.test") || managedBy(&corev1.Namespace{}, "e2e.test") {
		t.Error("another run's namespace, or one without managers: want it left alone")
	}
}

func TestCreatedByOnlyItsSoleWriter(t *testing.T) {
	const run = "e2e-kubeproof-1-2.test"
	for _, tc := range []struct {
		managers []string
		want     bool
	}{
		{[]string{run}, true},
		{[]string{"kubeadm", run}, false}, // changed by the run, made by another: never the run's
		{[]string{"kubectl-create"}, false},
		{nil, false},
	} {
		var o metav1.ObjectMeta
		for _, m := range tc.managers {
			o.ManagedFields = append(o.ManagedFields, metav1.ManagedFieldsEntry{Manager: m})
		}
		if got := createdBy(&o, run); got != tc.want {
			t.Errorf("managers %v: createdBy = %t, want %t", tc.managers, got, tc.want)
		}
	}
}
