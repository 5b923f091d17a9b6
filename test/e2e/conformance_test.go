//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/metadata"
	"k8s.io/utils/ptr"

	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/internal/proc"
	"github.com/kubeproof/kubeproof/reporters/results"
)

// conformanceSubset are [Conformance] specs that, together, run every image
// kubeproof builds for the suite: busybox (its ash's read-only message
// included, and environment variables named data-1 kept), pause, agnhost (its sh, nc and curl through kubectl exec, and
// agnhost-2), httpd, nginx, jessie-dnsutils (with agnhost's dig), nautilus,
// nonewprivs (setuid nnp), sample-apiserver and etcd.
var conformanceSubset = []string{
	"Kubelet when scheduling a busybox command in a pod should print the output to logs",
	"Kubelet when scheduling a read only busybox container should not write to root filesystem",
	"Secrets should be consumable via the environment",
	"Pods should get a host IP",
	"Services should be able to create a functioning NodePort service",
	"Deployment RollingUpdateDeployment should delete old pods and create new ones",
	"EndpointSlice should create Endpoints and EndpointSlices for Pods matching a Service",
	"DNS should provide DNS for the cluster ",
	"Update Demo should create and stop a replication controller",
	"should not allow privilege escalation when false",
	"Sample API Server using the current Aggregator",
	"override the image.s default command and arguments",
}

// conformance runs the subset with `kubeproof conformance run` (the suite
// and its images built here, side-loaded): every spec passes and the run
// says it is not valid for certification; its bundle fails the bot's
// checks for exactly that. Then a policy that refuses the Pods spec's pods
// (a locked-down cluster) makes that spec fail, named with the refusal.
func conformance(t *testing.T, kubeconfig string) {
	dir := t.TempDir()
	if a := os.Getenv("ARTIFACTS"); a != "" {
		dir = filepath.Join(a, t.Name()+"-"+time.Now().Format("150405"))
	}
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"--focus", "(["}, `--focus "([": not a regular expression`},
		{[]string{"--procs", "0"}, "--procs 0: want 1 or more"},
		{[]string{"--kubernetes-version", "1.34"}, `bad Kubernetes version "1.34"`},
		{[]string{"--focus", "no spec is called this"}, "nothing ran: no conformance spec matched"},
	} {
		code, out := kubeproofCLI(t, append([]string{"conformance", "run", "--kubeconfig", kubeconfig, "--output-dir", filepath.Join(dir, "bad")}, bad.args...)...)
		if code != 2 || !strings.Contains(out, bad.want) {
			t.Errorf("conformance run %s: want exit 2 saying %q, got exit %d: %s", strings.Join(bad.args, " "), bad.want, code, out)
		}
	}

	runDir := filepath.Join(dir, "subset")
	code, out := kubeproofCLI(t, "conformance", "run", "--kubeconfig", kubeconfig, "--focus", strings.Join(conformanceSubset, "|"), "--output-dir", runDir)
	if code != 0 || !strings.Contains(out, "12 passed, 0 failed of 12 conformance specs (v1.34.4)") || !strings.Contains(out, "not valid for certification") {
		t.Fatalf("want the 12 specs of the subset passed and the run marked not valid for certification, got exit %d: %s", code, out)
	}
	for _, f := range []string{"e2e.log", "junit_01.xml"} {
		if fi, err := os.Stat(filepath.Join(runDir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: want the upstream file, got %v", f, err)
		}
	}

	product := filepath.Join(dir, "PRODUCT.yaml")
	if err := os.WriteFile(product, []byte("vendor: kubeproof e2e\nname: kind\nversion: v1.34.4\nwebsite_url: https://kind.sigs.k8s.io/\ndocumentation_url: https://kind.sigs.k8s.io/docs/\ntype: installer\ndescription: kind, built by kubeproof\ncontact_email_address: e2e@example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out = kubeproofCLI(t, "conformance", "bundle", "--product", product, "--from", runDir, "--output-dir", filepath.Join(dir, "bundle"))
	for _, want := range []string{"PASS required files", "PASS product fields", "PASS e2e.log version", "PASS junit passed", "PASS junit matches e2e.log",
		"FAIL full conformance run: junit_01.xml: not valid for certification", "FAIL required specs: junit_01.xml: want all 424 required [Conformance] specs run, got 12"} {
		if !strings.Contains(out, want) {
			t.Errorf("bundle of the subset: want %q, got exit %d: %s", want, code, out)
		}
	}
	if code != 1 {
		t.Errorf("bundle of a partial run: want exit 1, got %d", code)
	}

	killedRunLeavesNothing(t, kubeconfig, filepath.Join(dir, "killed"))
	interruptedRunStops(t, kubeconfig, filepath.Join(dir, "interrupted"))

	// kubeproof's own checks and the upstream specs in one run, whose
	// report says NOT CERTIFIED: a policy refuses the spec's pods, and a
	// focused run is not valid for certification anyway.
	lift := refusePods(t, kubeconfig)
	refused := filepath.Join(dir, "refused")
	const spec = "[sig-node] Pods should get a host IP [NodeConformance] [Conformance]"
	code, run, out := kubeproofRunIn(t, refused, "--kubeconfig", kubeconfig, "--profile", "certification", "--label-filter", "area:nodes",
		"--conformance", "--conformance-focus", "Pods should get a host IP")
	if code != 1 || !strings.Contains(out, spec) || !strings.Contains(out, "kubeproof e2e refuses pods in namespaces of the Pods specs") {
		t.Errorf("pods refused by a policy: want exit 1 naming the spec and the refusal, got exit %d: %s", code, out)
	}
	if run != nil {
		certificationReport(t, run, refused, spec)
	}
	// Repaired, the failed spec alone runs again, and passes.
	lift()
	code, out = kubeproofCLI(t, "conformance", "run", "--kubeconfig", kubeconfig, "--rerun-failed", filepath.Join(refused, "conformance"), "--output-dir", filepath.Join(dir, "rerun"))
	if code != 0 || !strings.Contains(out, "1 passed, 0 failed of 1 conformance specs") || !strings.Contains(out, "not valid for certification") {
		t.Errorf("--rerun-failed after the policy is gone: want the one failed spec run again and passed, got exit %d: %s", code, out)
	}
	e2eNamespacesGone(t, kubeconfig)
}

// certificationReport checks a certification run with --conformance
// whose kubeproof checks passed and whose one upstream spec failed: the
// spec is a check of the conformance area with the upstream failure, the
// run says which suite and that it was partial, the upstream outputs are
// beside results.json, and the verdict and the HTML report say NOT
// CERTIFIED because of it.
func certificationReport(t *testing.T, run *results.Run, dir, spec string) {
	t.Helper()
	c := run.Conformance
	if c == nil || c.Version != "v1.34.4" || c.Required != 424 || !strings.Contains(c.Partial, "not valid for certification") {
		t.Errorf("results.json conformance: want suite v1.34.4, 424 required, marked not valid for certification, got %+v", c)
	}
	var own, specs int
	for _, ch := range run.Checks {
		switch {
		case ch.Area == results.ConformanceArea:
			specs++
			if ch.Name != spec || ch.Verdict != results.Failed || !strings.Contains(ch.Reason, "kubeproof e2e refuses pods") {
				t.Errorf("conformance check: want %q failed with the refusal, got %q %s: %s", spec, ch.Name, ch.Verdict, ch.Reason)
			}
		case ch.Verdict == results.Passed:
			own++
		case ch.Verdict == results.Failed:
			t.Errorf("kubeproof check %s: want passed, got failed: %s", ch.Name, ch.Reason)
		}
	}
	if own == 0 || specs != 1 {
		t.Errorf("want kubeproof's node checks passed and one conformance spec, got %d passed and %d specs", own, specs)
	}
	o := run.Outcome()
	if o.Word != "NOT CERTIFIED" || !strings.Contains(o.Why, "upstream conformance v1.34.4: 0 of 424 required specs passed, 1 failed") {
		t.Errorf("verdict: want NOT CERTIFIED with the conformance count, got %s (%s)", o.Word, o.Why)
	}
	for _, f := range []string{c.E2ELog, c.JUnit} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: want the upstream file beside results.json, got %v", f, err)
		}
	}
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{">NOT CERTIFIED<", `id="conformance"`, `href="conformance/e2e.log"`, "kubeproof e2e refuses pods"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("report.html: want %q in it", want)
		}
	}
}

// killedRunLeavesNothing kills a conformance run (kubeproof, ginkgo and
// e2e.test: the process group, SIGKILL) once it has recorded its spec's
// namespace, which is then left behind; kubeproof cleanup removes it,
// found in the journal the run kept on this machine.
func killedRunLeavesNothing(t *testing.T, kubeconfig, dir string) {
	ctx := context.Background()
	c, err := kube.NewClient(kubeconfig, "")
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	cmd := exec.Command(kubeproofBin(t), "conformance", "run", "--kubeconfig", kubeconfig, "--focus", "Sample API Server using the current Aggregator", "--output-dir", dir)
	cmd.Env = append(os.Environ(), "KUBEPROOF_STATE_DIR="+state)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The spec makes its namespace, then cluster-wide RBAC for the sample
	// API server: killed once both are recorded, it leaves both.
	var j confJournal
	if err := wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(context.Context) (bool, error) {
		j = readJournal(t, state)
		return len(j.Namespaces) > 0 && len(j.Objects) > 0, nil
	}); err != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatalf("want the run to record its spec's namespace and a cluster-scoped object within 3m, got %+v in %s", j, state)
	}
	names, group := j.Namespaces, j.Group
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	cleanup := exec.Command(kubeproofBin(t), "cleanup", "--kubeconfig", kubeconfig)
	cleanup.Env = cmd.Env
	out, err := cleanup.CombinedOutput()
	t.Logf("kubeproof cleanup after the killed run: %v\n%s", err, out)
	// The spec processes outlive kubeproof and Ginkgo; cleanup stops them.
	mark := fmt.Sprintf("e2e-kubeproof-%d-", cmd.Process.Pid)
	if group == 0 {
		t.Errorf("the journal of the killed run: want its process group recorded, got none")
	} else if left := proc.Group(group, mark); len(left) > 0 {
		t.Errorf("after kubeproof cleanup: want no process of the killed run left, got pids %v in group %d running %s*", left, group, mark)
	}
	meta, err := metadata.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range j.Objects {
		gvr := schema.GroupVersionResource{Group: o.Group, Version: o.Version, Resource: o.Resource}
		if got, err := meta.Resource(gvr).Get(ctx, o.Name, metav1.GetOptions{}); err == nil && got.UID == o.UID && got.DeletionTimestamp == nil {
			t.Errorf("%s %s of the killed run: want it deleted by kubeproof cleanup, still there", gvr.GroupResource(), o.Name)
		}
	}
	for _, n := range names {
		if !strings.Contains(string(out), "removed namespace "+n+" (left by a conformance run)") {
			t.Errorf("kubeproof cleanup after a killed conformance run: want namespace %s removed, got %v: %s", n, err, out)
		}
		ns, err := c.CoreV1().Namespaces().Get(ctx, n, metav1.GetOptions{})
		if err == nil && ns.DeletionTimestamp == nil {
			t.Errorf("namespace %s: want it deleted by kubeproof cleanup, still active", n)
		}
	}
}

// interruptedRunStops interrupts a conformance run (SIGINT to kubeproof
// alone, as a service manager or CI runner sends it) once its spec is
// under way: the spec processes stop, the run's namespaces are deleted,
// no process is left, and the exit code says interrupted.
func interruptedRunStops(t *testing.T, kubeconfig, dir string) {
	state := t.TempDir()
	var out bytes.Buffer
	cmd := exec.Command(kubeproofBin(t), "conformance", "run", "--kubeconfig", kubeconfig, "--focus", "Sample API Server using the current Aggregator", "--output-dir", dir)
	cmd.Env = append(os.Environ(), "KUBEPROOF_STATE_DIR="+state)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var names []string
	var group int
	if err := wait.PollUntilContextTimeout(context.Background(), time.Second, 3*time.Minute, true, func(context.Context) (bool, error) {
		j := readJournal(t, state)
		names, group = j.Namespaces, j.Group
		return len(names) > 0, nil
	}); err != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("want the run to record its spec's namespace within 3m, got none in %s", state)
	}
	start := time.Now()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 || !strings.Contains(out.String(), "interrupted after") {
		t.Errorf("conformance run interrupted: want exit 130 saying interrupted, got %v after %s: %s", err, time.Since(start).Round(time.Second), out.String())
	}
	t.Logf("interrupted conformance run ended %s after SIGINT", time.Since(start).Round(time.Second))
	if left := proc.Group(group, fmt.Sprintf("e2e-kubeproof-%d-", cmd.Process.Pid)); len(left) > 0 {
		t.Errorf("after an interrupted run: want no spec process left, got pids %v", left)
	}
	c, err := kube.NewClient(kubeconfig, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if ns, err := c.CoreV1().Namespaces().Get(context.Background(), n, metav1.GetOptions{}); err == nil && ns.DeletionTimestamp == nil {
			t.Errorf("namespace %s of the interrupted run: want it deleted, still active", n)
		}
	}
}

// confJournal is what conformance runs recorded in a kubeproof state
// directory: their namespaces and cluster-scoped objects, and the process
// group of the last run.
type confJournal struct {
	Namespaces []string
	Objects    []journalObject
	Group      int
}

type journalObject struct {
	Group, Version, Resource, Name string
	UID                            types.UID
}

func readJournal(t *testing.T, state string) confJournal {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(state, "conformance", "run-*.json"))
	var out confJournal
	for _, f := range files {
		var j struct {
			Group      int
			Namespaces []struct{ Name string }
			Objects    []journalObject
		}
		if data, err := os.ReadFile(f); err == nil && json.Unmarshal(data, &j) == nil {
			for _, n := range j.Namespaces {
				out.Namespaces = append(out.Namespaces, n.Name)
			}
			out.Objects = append(out.Objects, j.Objects...)
			out.Group = j.Group
		}
	}
	return out
}

// e2eNamespacesGone waits until the namespaces the upstream suite made are
// gone: a terminating pod without a controller in one of them would stop
// a later drain.
func e2eNamespacesGone(t *testing.T, kubeconfig string) {
	t.Helper()
	c, err := kube.NewClient(kubeconfig, "")
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		list, err := c.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{LabelSelector: "e2e-framework"})
		if err == nil {
			left = nil
			for _, ns := range list.Items {
				left = append(left, ns.Name)
			}
			if len(left) == 0 {
				return
			}
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("the suite's namespaces: want them gone within 3m, got %v", left)
}

// refusePods makes the API server refuse every pod created in the
// namespaces the upstream Pods specs make (label e2e-framework=pods),
// until lift is called or the test ends; each waits until the API server
// acts on it (a dry-run pod in such a namespace refused, then accepted).
func refusePods(t *testing.T, kubeconfig string) (lift func()) {
	ctx := context.Background()
	c, err := kube.NewClient(kubeconfig, "")
	if err != nil {
		t.Fatal(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "kubeproof-e2e-refused-", Labels: map[string]string{"e2e-framework": "pods"}}}
	if ns, err = c.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}) })
	const message = "kubeproof e2e refuses pods in namespaces of the Pods specs"
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "probe"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10.1"}}}}
	waitRefused := func(want bool) {
		var last error
		if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			_, last = c.CoreV1().Pods(ns.Name).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			return (last != nil && strings.Contains(last.Error(), message)) == want, nil
		}); err != nil {
			t.Fatalf("a pod in namespace %s: want refused=%v within 1m, got %v", ns.Name, want, last)
		}
	}

	api := c.AdmissionregistrationV1()
	name := "kubeproof-e2e-refuse-pods"
	policy := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Create},
					Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
				},
			}}},
			Validations: []admissionv1.Validation{{Expression: "false", Message: message}},
		},
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
			MatchResources:    &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"e2e-framework": "pods"}}},
		},
	}
	remove := func() {
		_ = api.ValidatingAdmissionPolicyBindings().Delete(ctx, name, metav1.DeleteOptions{})
		_ = api.ValidatingAdmissionPolicies().Delete(ctx, name, metav1.DeleteOptions{})
	}
	t.Cleanup(remove)
	if _, err := api.ValidatingAdmissionPolicies().Create(ctx, policy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.ValidatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRefused(true)
	return func() {
		remove()
		waitRefused(false)
		_ = c.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{})
	}
}
