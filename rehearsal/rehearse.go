// Package rehearsal is `kubeproof upgrade rehearse`: a kind cluster at one
// Kubernetes version, the chosen profile before, long-lived workloads and
// continuous probes, the upgrade to the next minor the way kubeadm
// documents it (each step timed, the version skew checked after each), the
// profile after, and upgrade.json with its HTML report.
package rehearsal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/go-logr/logr"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/klog/v2"

	"github.com/kubeproof/kubeproof/cluster/kindcluster"
	"github.com/kubeproof/kubeproof/fixtures/meta"
	"github.com/kubeproof/kubeproof/fixtures/workloadimage"
	"github.com/kubeproof/kubeproof/internal/atomicfile"
	"github.com/kubeproof/kubeproof/internal/clusterlock"
	"github.com/kubeproof/kubeproof/internal/exitcode"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/internal/proc"
	"github.com/kubeproof/kubeproof/nodeimage"
	"github.com/kubeproof/kubeproof/reporters/diff"
	"github.com/kubeproof/kubeproof/reporters/results"
	"github.com/kubeproof/kubeproof/reporters/upgrade"
	"github.com/kubeproof/kubeproof/reporters/upgradehtml"
	"github.com/kubeproof/kubeproof/runner"
	"github.com/kubeproof/kubeproof/suites/contract"
)

// Options of one rehearsal.
type Options struct {
	From, To string
	// Profile runs before and after the upgrade.
	Profile    string
	Procs      int
	KindConfig string
	// KeepCluster leaves the cluster after the rehearsal.
	KeepCluster bool
	OutputDir   string
	// MaxDowntime overrides probes' budgets, by probe name.
	MaxDowntime map[string]time.Duration
	RunID       string
}

// Probe names, and the budgets that hold by default.
const (
	probeClusterIPWeb = "clusterip/" + web
	probeNodePortWeb  = "nodeport/" + web
	probeSingle       = "clusterip/" + single
	probeDNS          = "dns"
	probeAPINew       = "apiserver/new-connections"
	probeAPIReused    = "apiserver/reused-connection"
	probeWatch        = "watch"
)

// probes describes every probe; budgets are in defaultBudgets.
var probes = map[string]string{
	probeClusterIPWeb: "HTTP to Service web's ClusterIP (3 replicas, PodDisruptionBudget maxUnavailable 1) from a pod on every node, 10/s each",
	probeNodePortWeb:  "HTTP to web's NodePort on the node's own address, from a pod on every node, 10/s each",
	probeSingle:       "HTTP to Service single's ClusterIP (1 replica, no PodDisruptionBudget: the control) from a pod on every node, 10/s each",
	probeDNS:          "DNS lookups of web's Service name through the cluster DNS, from a pod on every node, 10/s each",
	probeAPINew:       "GET of a ConfigMap from this machine over a new TCP and TLS connection each time, 10/s",
	probeAPIReused:    "GET of a ConfigMap from this machine over one kept-alive connection, 10/s",
	probeWatch:        "a watch on a ConfigMap written 10/s, resumed from its last event when cut: every acknowledged write must reach the client once, in order, as its event or through the relist an informer makes when the API server no longer has the events (410 Gone)",
}

type budget struct {
	d      time.Duration
	source string
}

// defaultBudgets are what the upgrade must guarantee. A probe without one
// is measured, not judged: a single control plane cannot keep the API
// server up while it restarts, and kubeadm gives CoreDNS no
// PodDisruptionBudget, so nothing promises them zero downtime.
var defaultBudgets = map[string]budget{
	probeClusterIPWeb: {0, "web's PodDisruptionBudget lets a drain take one of 3 pods at a time: no request may fail"},
	probeNodePortWeb:  {0, "web's PodDisruptionBudget lets a drain take one of 3 pods at a time: no request may fail"},
	probeWatch:        {0, "a client that resumes its watch and relists on 410 Gone, as informers do, must lose no write"},
}

// ErrBadDowntime marks a --max-downtime that names no probe.
var ErrBadDowntime = errors.New("bad --max-downtime")

func (o *Options) validate() error {
	if o.From == "" {
		o.From = nodeimage.DefaultKubernetesVersion
	}
	if o.To == "" {
		o.To = nodeimage.DefaultUpgradeVersion
	}
	if err := runner.CheckUpgrade("--to", o.From, o.To); err != nil {
		return err
	}
	if strings.Count(o.To, ".") != 2 {
		return fmt.Errorf("--to %s: name the patch too, such as %s: the node image is built for one exact version", o.To, nodeimage.DefaultUpgradeVersion)
	}
	for name, d := range o.MaxDowntime {
		if _, ok := probes[name]; !ok {
			return fmt.Errorf("%w: no probe %q; the probes are %s", ErrBadDowntime, name, strings.Join(probeNames(), ", "))
		}
		if d < 0 {
			return fmt.Errorf("%w: %s=%s is negative", ErrBadDowntime, name, d)
		}
	}
	if o.Profile == "" {
		o.Profile = contract.DefaultProfile
	}
	if err := contract.ValidateProfile(o.Profile); err != nil {
		return err
	}
	if o.Profile == "pre-upgrade" {
		return fmt.Errorf("--profile pre-upgrade: the rehearsal runs the profile on both sides of the upgrade; pre-upgrade judges one side only, run it with `kubeproof run --target-version`")
	}
	if o.RunID == "" {
		o.RunID = runner.NewRunID(time.Now())
	}
	if o.OutputDir == "" {
		o.OutputDir = filepath.Join("kubeproof-results", "upgrade-"+o.RunID)
	}
	return nil
}

func probeNames() []string {
	var names []string
	for n := range probes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Rehearse runs one rehearsal and returns its record; the error's exit
// code is 1 when the rehearsal found something (its message is the worst
// finding), 2 for bad options, 3 when the machine or cluster failed it.
func Rehearse(ctx context.Context, o Options, out io.Writer) (*upgrade.Rehearsal, error) {
	if err := o.validate(); err != nil {
		return nil, exitcode.UsageError(err)
	}
	// client-go's own logging (a watch refused while the API server
	// restarts) is what the probes measure, not news for the terminal.
	klog.SetLogger(logr.Discard())
	if err := os.MkdirAll(filepath.Join(o.OutputDir, "steps"), 0o755); err != nil {
		return nil, exitcode.EnvironmentError(err)
	}
	r := &upgrade.Rehearsal{SchemaVersion: upgrade.SchemaVersion, RunID: o.RunID, From: o.From, To: o.To, Profile: o.Profile,
		Started: time.Now().UTC(), Cluster: "kubeproof-upgrade-" + strings.ToLower(o.RunID[strings.LastIndex(o.RunID, "-")+1:])}
	fmt.Fprintf(out, "upgrade rehearsal %s: %s -> %s, profile %s, output in %s\n", o.RunID, o.From, o.To, o.Profile, o.OutputDir)

	// The cluster: kubeproof's node image carrying both versions.
	image, err := nodeimage.Build(ctx, nodeimage.Options{KubernetesVersion: o.From, UpgradeVersion: o.To, Log: out})
	if errors.Is(err, nodeimage.ErrVersion) {
		return nil, exitcode.UsageError(err)
	}
	if err != nil {
		return nil, exitcode.EnvironmentError(fmt.Errorf("build the node image: %w", err))
	}
	lock, err := clusterlock.Kind(r.Cluster, "upgrade rehearsal "+o.RunID)
	if err != nil {
		return nil, exitcode.BusyError(err)
	}
	owned := o.RunID
	if o.KeepCluster {
		owned = ""
	}
	cl, err := kindcluster.Create(ctx, kindcluster.CreateOptions{Name: r.Cluster, Config: o.KindConfig, Image: image, Out: out, RunID: owned,
		KubeconfigPath: filepath.Join(o.OutputDir, "kubeconfig"), LogsDir: filepath.Join(o.OutputDir, "cluster-logs")})
	lock.Unlock()
	if errors.Is(err, kindcluster.ErrBadConfig) {
		return nil, exitcode.UsageError(err)
	}
	if err != nil {
		return nil, exitcode.EnvironmentError(err)
	}
	if !o.KeepCluster {
		defer func() {
			if err := kindcluster.Delete(r.Cluster, cl.KubeconfigPath); err != nil {
				fmt.Fprintf(out, "warning: %v\n", err)
			}
		}()
	}
	c, err := kube.NewClient(cl.KubeconfigPath, "")
	if err != nil {
		return nil, exitcode.EnvironmentError(err)
	}
	nodes, err := kindcluster.Nodes(r.Cluster)
	if err != nil {
		return nil, exitcode.EnvironmentError(err)
	}

	var before, after *results.Run
	before, r.Before = profileRun(ctx, o, cl.KubeconfigPath, "before", out)

	// The workloads and the probes, which run until the end.
	workloadImage, err := workloadimage.OnKind(ctx, r.Cluster)
	if err != nil {
		return nil, exitcode.EnvironmentError(err)
	}
	labels := meta.RunLabels(o.RunID)
	ns, err := c.CreateNamespace(ctx, "kubeproof-upgrade", meta.Restricted(copyLabels(labels)), map[string]string{meta.AnnotationOwner: proc.Owner(os.Getpid())})
	if err != nil {
		return nil, exitcode.EnvironmentError(err)
	}
	r.Namespace = ns
	w := &workloads{cluster: r.Cluster, c: c, ns: ns, image: workloadImage, labels: labels, storage: ns}
	fmt.Fprintf(out, "• deploy the workloads and start the probes in namespace %s ...\n", ns)
	if err := w.deploy(ctx, nodes); err != nil {
		return nil, exitcode.EnvironmentError(fmt.Errorf("deploy the workloads: %w", err))
	}
	if _, err := w.inClusterProbes(ctx); err != nil {
		return nil, exitcode.EnvironmentError(fmt.Errorf("start the probes: %w", err))
	}
	if err := waitFor(ctx, 3*time.Minute, "the workloads Ready and the probes running", func(ctx context.Context) (string, error) {
		if missing, err := w.ready(ctx); missing != "" || err != nil {
			return missing, err
		}
		return w.probesRunning(ctx)
	}); err != nil {
		return nil, exitcode.EnvironmentError(err)
	}
	r.Started = time.Now().UTC() // the timeline starts with the probes
	probeCtx, stopProbes := context.WithCancel(ctx)
	defer stopProbes()
	all := map[string]*series{probeAPINew: {}, probeAPIReused: {}}
	apiPath := "/api/v1/namespaces/" + ns + "/configmaps/settings"
	done := make(chan error, 3)
	go func() { done <- apiProbe(probeCtx, c.Config, apiPath, true, all[probeAPINew]) }()
	go func() { done <- apiProbe(probeCtx, c.Config, apiPath, false, all[probeAPIReused]) }()
	var watched *series
	go func() {
		var err error
		watched, err = watchProbe(probeCtx, c, ns, labels)
		done <- err
	}()
	snapBefore, err := w.snapshot(ctx)
	if err != nil {
		return nil, exitcode.EnvironmentError(fmt.Errorf("read the workloads: %w", err))
	}

	// The upgrade, under the kind lock: nothing else touches the cluster.
	if lock, err = clusterlock.Kind(r.Cluster, "upgrade rehearsal "+o.RunID); err != nil {
		return nil, exitcode.BusyError(err)
	}
	u := &upgrader{cluster: r.Cluster, c: c, nodes: nodes, to: o.To, logs: filepath.Join(o.OutputDir, "steps"), out: out, evictions: map[string]int{}}
	upgradeErr := u.run(ctx)
	lock.Unlock()
	upgraded := time.Now()
	r.Steps = u.steps
	if upgradeErr == nil {
		// kubeadm may rewrite CoreDNS's configuration: keep it offline.
		if err := kindcluster.IsolateDNS(ctx, c); err != nil {
			fmt.Fprintf(out, "warning: %v\n", err)
		}
		after, r.After = profileRun(ctx, o, cl.KubeconfigPath, "after", out)
	} else {
		r.After = upgrade.ProfileRun{Error: "not run: the upgrade failed"}
	}

	// The end: stop the probes, read them, compare.
	stopProbes()
	for range 3 {
		if err := <-done; err != nil {
			fmt.Fprintf(out, "warning: probe: %v\n", err)
		}
	}
	if watched != nil {
		all[probeWatch] = watched
	}
	if err := w.collectInCluster(ctx, all); err != nil {
		return nil, exitcode.EnvironmentError(err)
	}
	r.Ended = time.Now().UTC()
	var findings []upgrade.Finding
	// Evicted pods come back on other nodes (data's only on their own,
	// once it is uncordoned): compare once they are Ready again.
	if err := waitFor(ctx, 3*time.Minute, "the workloads Ready again", w.ready); err != nil {
		findings = append(findings, upgrade.Finding{Kind: "workload", Message: err.Error()})
	}
	snapAfter, err := w.snapshot(ctx)
	if err != nil {
		findings = append(findings, upgrade.Finding{Kind: "lost", Message: "the workloads could not be read after the upgrade: " + err.Error()})
	}
	r.Objects = compare(snapBefore, snapAfter)
	r.Probes = judgeProbes(all, r.Started, o.MaxDowntime)
	r.Pods, err = w.stories(ctx, u.evictions)
	if err != nil {
		return nil, exitcode.EnvironmentError(err)
	}
	if before != nil && after != nil {
		d := diff.Compare(before, after, diff.DefaultOptions)
		r.Diff = fmt.Sprintf("%d regressed, %d fixed, %d new, %d removed, %d measurements moved", len(d.Regressions), len(d.Fixes), len(d.Added), len(d.Removed), len(d.Moved))
		if f, err := os.Create(filepath.Join(o.OutputDir, "diff.md")); err == nil {
			_ = d.WriteMarkdown(f, diff.DefaultOptions)
			f.Close()
		}
	}
	if upgradeErr == nil {
		if miss := w.cronRanAfter(ctx, upgraded); miss != "" {
			findings = append(findings, upgrade.Finding{Kind: "workload", Message: miss})
		}
	}
	r.Findings = append(findings, judge(r, u.skew, upgradeErr)...)
	sortFindings(r.Findings)
	r.Verdict = "passed"
	if len(r.Findings) > 0 {
		r.Verdict = "failed"
	}
	if err := write(r, o.OutputDir); err != nil {
		return r, exitcode.EnvironmentError(err)
	}
	printSummary(out, r, o.OutputDir)
	if len(r.Findings) > 0 {
		return r, exitcode.WithCode(exitcode.CheckFailed, errors.New(r.Findings[0].Message))
	}
	return r, nil
}

func copyLabels(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// profileRun runs the profile on the cluster into OutputDir/side.
func profileRun(ctx context.Context, o Options, kubeconfig, side string, out io.Writer) (*results.Run, upgrade.ProfileRun) {
	dir := filepath.Join(o.OutputDir, side)
	fmt.Fprintf(out, "• %s profile %s the upgrade (results in %s) ...\n", o.Profile, side, dir)
	ro := runner.Options{Settings: contract.Settings{Cluster: contract.Cluster{Kubeconfig: kubeconfig}, RunID: runner.NewRunID(time.Now())}, Profile: o.Profile, Procs: max(o.Procs, 1), Timeout: time.Hour, OutputDir: dir}
	run, err := runner.Run(ctx, ro, io.Discard)
	p := upgrade.ProfileRun{Dir: dir}
	if run == nil {
		p.Error = fmt.Sprint(err)
		fmt.Fprintf(out, "  could not run: %v\n", err)
		return nil, p
	}
	outcome := run.Outcome()
	p.Version, p.Verdict, p.Passed, p.Failed = run.Cluster.ServerVersion, outcome.Word, run.Summary.Passed, run.Summary.Failed
	fmt.Fprintf(out, "  %s: %s\n", outcome.Word, outcome.Why)
	return run, p
}

// waitFor polls cond every second until it reports nothing missing.
func waitFor(ctx context.Context, timeout time.Duration, what string, cond func(context.Context) (string, error)) error {
	var missing string
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		var err error
		missing, err = cond(ctx)
		if err != nil {
			missing = err.Error()
		}
		return missing == "" && err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("want %s within %s, got %s", what, timeout, missing)
	}
	return nil
}

// cronRanAfter is "" when the CronJob had a Job succeed that started after
// the upgrade: the new controller manager schedules it. It waits for the
// next minute's Job if none has yet.
func (w *workloads) cronRanAfter(ctx context.Context, upgraded time.Time) string {
	var last string
	err := wait.PollUntilContextTimeout(ctx, 2*time.Second, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		jobs, err := w.c.BatchV1().Jobs(w.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		n := 0
		for _, j := range jobs.Items {
			if isCronJob(j) && j.Status.Succeeded > 0 && j.CreationTimestamp.After(upgraded) {
				return true, nil
			}
			if isCronJob(j) {
				n++
			}
		}
		last = fmt.Sprintf("%d Jobs of CronJob tick, none created after the upgrade and succeeded", n)
		return false, nil
	})
	if err != nil {
		return fmt.Sprintf("CronJob %s/tick: want a Job created after the upgrade to succeed within 1m30s, got %s", w.ns, last)
	}
	return ""
}

func isCronJob(j batchv1.Job) bool {
	for _, ref := range j.OwnerReferences {
		if ref.Kind == "CronJob" && ref.Name == "tick" {
			return true
		}
	}
	return false
}

// stories counts, per workload of the rehearsal and of kube-system, the
// evictions the drains made, the restarts its pods' containers had, and
// where its pods are.
func (w *workloads) stories(ctx context.Context, evictions map[string]int) ([]upgrade.PodStory, error) {
	by := map[string]*upgrade.PodStory{}
	story := func(o string) *upgrade.PodStory {
		if by[o] == nil {
			by[o] = &upgrade.PodStory{Owner: o, Nodes: map[string]int{}, Evictions: evictions[o]}
		}
		return by[o]
	}
	for o := range evictions {
		story(o)
	}
	for _, ns := range []string{w.ns, "kube-system"} {
		pods, err := w.c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for _, p := range pods.Items {
			s := story(ns + "/" + owner(&p))
			s.Nodes[p.Spec.NodeName]++
			for _, st := range p.Status.ContainerStatuses {
				s.Restarts += int(st.RestartCount)
			}
		}
	}
	var out []upgrade.PodStory
	for _, s := range by {
		// A finished Job's pods are gone; one that was evicted or restarted
		// still says so.
		if !strings.Contains(s.Owner, "/Job/") || s.Evictions > 0 || s.Restarts > 0 {
			out = append(out, *s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Owner < out[j].Owner })
	return out, nil
}

func write(r *upgrade.Rehearsal, dir string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, "upgrade.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	return upgradehtml.WriteFile(r, filepath.Join(dir, "upgrade.html"))
}
