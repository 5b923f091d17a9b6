package faults

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/kubeproof/kubeproof/chaos"
	"github.com/kubeproof/kubeproof/chaos/drain"
	"github.com/kubeproof/kubeproof/chaos/journal"
	"github.com/kubeproof/kubeproof/chaos/kindnode"
	"github.com/kubeproof/kubeproof/chaos/kubeletfreeze"
	"github.com/kubeproof/kubeproof/chaos/podkill"
	"github.com/kubeproof/kubeproof/fixtures/meta"
	"github.com/kubeproof/kubeproof/internal/proc"
)

// node is a cluster node; ip and cidr may be "".
func node(name string, controlPlane, marked bool, ip, cidr string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}}
	if controlPlane {
		n.Labels["node-role.kubernetes.io/control-plane"] = ""
	}
	if marked {
		n.Labels[meta.LabelCreatedBy] = meta.ManagedBy
	}
	if ip != "" {
		n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeExternalIP, Address: "203.0.113.9"}, {Type: corev1.NodeInternalIP, Address: ip}}
	}
	if cidr != "" {
		n.Spec.PodCIDRs = []string{cidr}
	}
	return n
}

// kubeproofCluster is a kind cluster kubeproof created: one control plane,
// two workers, all marked.
func kubeproofCluster() Target {
	return Target{
		Client: fake.NewClientset(
			node("cp", true, true, "172.18.0.2", "10.244.0.0/24"),
			node("w1", false, true, "172.18.0.3", "10.244.1.0/24"),
			node("w2", false, true, "172.18.0.4", "10.244.2.0/24"),
		),
		Cluster: chaos.Cluster{Context: "kind-kp", KindCluster: "kp", Server: "https://127.0.0.1:40001"},
		Owned:   true,
	}
}

type planCase struct {
	name   string
	t      Target
	r      Request
	unsafe bool   // the error wraps ErrUnsafe
	errHas string // "" = planned
}

func TestPlanSafetyRules(t *testing.T) {
	foreign := Target{Client: fake.NewClientset(node("cp", true, false, "", ""), node("w1", false, false, "", ""))}
	cases := []planCase{
		{"cluster not created by kubeproof", foreign, Request{Kind: chaos.Drain, Node: "w1"}, true, "--allow-disruptive"},
		// The created-by label is set by kubeproof on its nodes, but anyone
		// who can patch nodes can set it: it is never consent.
		{"nodes marked, cluster not kubeproof's", Target{Client: kubeproofCluster().Client, NotOwnedWhy: "kind cluster kp was not created by kubeproof on this machine"}, Request{Kind: chaos.Drain, Node: "w1"}, true, "was not created by kubeproof"},
		{"consent to break it", foreign, Request{Kind: chaos.Drain, Node: "w1", AllowDisruptive: true}, false, ""},
		{"pod-kill needs the same consent", foreign, Request{Kind: chaos.PodKill, Namespace: "ns", Selector: "app=web"}, true, "--allow-disruptive"},
		{"control-plane node", kubeproofCluster(), Request{Kind: chaos.Drain, Node: "cp"}, true, "--allow-control-plane"},
		{"control-plane node with consent", kubeproofCluster(), Request{Kind: chaos.Drain, Node: "cp", AllowControlPlane: true}, false, ""},
		{"the runner's own node", kubeproofCluster(), Request{Kind: chaos.Drain, Node: "w1", RunnerNode: "w1"}, true, "runs kubeproof itself"},
		{"another node than the runner's", kubeproofCluster(), Request{Kind: chaos.Drain, Node: "w1", RunnerNode: "w2"}, false, ""},
		{"kubelet-freeze without privileged pods", kubeproofCluster(), Request{Kind: chaos.KubeletFreeze, Node: "w1", Image: "img", For: time.Minute}, true, "--allow-privileged-pods"},
		{"kubelet-freeze without an image", kubeproofCluster(), Request{Kind: chaos.KubeletFreeze, Node: "w1", AllowPrivilegedPods: true, For: time.Minute}, false, "workload image"},
		{"kubelet-freeze with consent", kubeproofCluster(), Request{Kind: chaos.KubeletFreeze, Node: "w1", AllowPrivilegedPods: true, Image: "img", For: time.Minute}, false, ""},
		{"kubelet-freeze on a non-kind cluster", Target{Client: kubeproofCluster().Client, Owned: true}, Request{Kind: chaos.KubeletFreeze, Node: "w1", AllowPrivilegedPods: true, Image: "img", For: time.Minute}, false, ""},
		{"unknown node", kubeproofCluster(), Request{Kind: chaos.Drain, Node: "nope"}, false, `node "nope" not found`},
		{"pod-kill names no node", kubeproofCluster(), Request{Kind: chaos.PodKill, Namespace: "ns", Selector: "app=web"}, false, ""},
		// component-stop acts on a control-plane node: the same consent.
		{"component-stop without consent for the control plane", kubeproofCluster(), Request{Kind: chaos.ComponentStop, Node: "cp", Component: "kube-scheduler"}, true, "--allow-control-plane"},
		{"component-stop with consent", kubeproofCluster(), Request{Kind: chaos.ComponentStop, Node: "cp", Component: "kube-scheduler", AllowControlPlane: true}, false, ""},
		{"component-stop of etcd", kubeproofCluster(), Request{Kind: chaos.ComponentStop, Node: "cp", Component: "etcd", AllowControlPlane: true}, false, "want one of kube-scheduler"},
		{"component-stop without a kind cluster", Target{Client: kubeproofCluster().Client, Owned: true}, Request{Kind: chaos.ComponentStop, Node: "cp", Component: "kube-scheduler", AllowControlPlane: true}, true, "only on kind clusters"},
	}
	for _, kind := range []chaos.Kind{chaos.NodeStop, chaos.NodePause, chaos.KubeletStop, chaos.NetworkPartition} {
		cases = append(cases,
			planCase{string(kind) + " without a kind cluster", Target{Client: kubeproofCluster().Client, Owned: true}, Request{Kind: kind, Node: "w1"}, true, "only on kind clusters"},
			planCase{string(kind) + " on kind", kubeproofCluster(), Request{Kind: kind, Node: "w1"}, false, ""})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Plan(t.Context(), c.t, c.r)
			if c.errHas == "" {
				if err != nil || f == nil {
					t.Fatalf("want a plan, got %v, %v", f, err)
				}
				if f.Spec().Kind != c.r.Kind {
					t.Errorf("planned %s, want %s", f.Spec().Kind, c.r.Kind)
				}
				return
			}
			if err == nil {
				t.Fatalf("want refused (%s), got a plan: %s", c.errHas, f.Describe())
			}
			if errors.Is(err, ErrUnsafe) != c.unsafe || !strings.Contains(err.Error(), c.errHas) {
				t.Errorf("error %q: want ErrUnsafe=%v and to contain %q", err, c.unsafe, c.errHas)
			}
		})
	}
}

func TestPlanRefusesAnUnknownKindNamingTheKnownOnes(t *testing.T) {
	_, err := Plan(t.Context(), kubeproofCluster(), Request{Kind: "node-stopp", Node: "w1"})
	if !errors.Is(err, ErrUnknownKind) {
		t.Fatalf("want ErrUnknownKind, got %v", err)
	}
	for _, k := range Kinds {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("%q does not name %s", err, k)
		}
	}
}

// The kind names are in journals, CLI arguments and scenario names.
func TestKindNamesAreStable(t *testing.T) {
	want := []string{"node-stop", "node-pause", "kubelet-stop", "network-partition", "drain", "pod-kill", "kubelet-freeze", "component-stop"}
	if !slices.Equal(Kinds, want) {
		t.Errorf("Kinds = %v, want %v", Kinds, want)
	}
}

func TestPartitionCutsOffTheOtherNodes(t *testing.T) {
	f, err := Plan(t.Context(), kubeproofCluster(), Request{Kind: chaos.NetworkPartition, Node: "w1"})
	if err != nil {
		t.Fatal(err)
	}
	p, ok := f.(kindnode.Partition)
	if !ok {
		t.Fatalf("planned %T, want kindnode.Partition", f)
	}
	want := []string{"172.18.0.2", "10.244.0.0/24", "172.18.0.4", "10.244.2.0/24"}
	if !slices.Equal(p.Peers, want) || p.Name != "w1" || p.Cluster != "kp" {
		t.Errorf("partition of %s in %s from %v, want w1 in kp from %v", p.Name, p.Cluster, p.Peers, want)
	}
}

// writeKubeconfig writes a kubeconfig for a server nothing listens on:
// rebuilding a fault reads it but does not connect.
func writeKubeconfig(t *testing.T, path string) {
	t.Helper()
	const kc = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: kind-kp, context: {cluster: c, user: u}}]
current-context: kind-kp
`
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Each kind's fault goes into the journal with the cluster recorded once,
// beside its spec, and the registry rebuilds the same fault from it.
func TestJournalRoundTripForEveryKind(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("KUBEPROOF_JOURNAL_DIR", filepath.Join(dir, "journal"))
	writeKubeconfig(t, filepath.Join(dir, "kubeconfig"))
	cluster := chaos.Cluster{Kubeconfig: "kubeconfig", Context: "kind-kp", KindCluster: "kp"}
	cs := fake.NewClientset()
	n := kindnode.Node{Cluster: "kp", Name: "w1"}
	deadline := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	built := map[chaos.Kind]chaos.Fault{
		chaos.NodeStop:         kindnode.Stop{Node: n},
		chaos.NodePause:        kindnode.Pause{Node: n},
		chaos.KubeletStop:      kindnode.KubeletStop{Node: n},
		chaos.NetworkPartition: kindnode.Partition{Node: n, Peers: []string{"172.18.0.2", "10.244.0.0/24"}},
		chaos.Drain:            &drain.Drain{Client: cs, Node: "w1", WasCordoned: true},
		chaos.PodKill:          &podkill.Kill{Client: cs, Namespace: "ns", Selector: "app=web"},
		chaos.ComponentStop:    kindnode.ComponentStop{Node: kindnode.Node{Cluster: "kp", Name: "cp"}, Component: "kube-scheduler"},
		chaos.KubeletFreeze:    &kubeletfreeze.Freeze{Client: cs, Node: "w1", Image: "img", For: 90 * time.Second, Pod: "freeze-kubelet-w1", Deadline: deadline, Namespace: "kubeproof-chaos-run"},
	}
	for _, k := range Kinds {
		t.Run(k, func(t *testing.T) {
			f := built[chaos.Kind(k)]
			if f == nil {
				t.Fatalf("no fault of kind %s in this test: add one", k)
			}
			e, err := newEntry("run", cluster, f)
			if err != nil {
				t.Fatal(err)
			}
			if err := journal.Record(e); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(filepath.Join(journal.Dir(), e.ID+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var file struct {
				Cluster chaos.Cluster  `json:"cluster"`
				Spec    map[string]any `json:"spec"`
			}
			if err := json.Unmarshal(raw, &file); err != nil {
				t.Fatal(err)
			}
			wantCluster := chaos.Cluster{Kubeconfig: filepath.Join(dir, "kubeconfig"), Context: "kind-kp", KindCluster: "kp"}
			if file.Cluster != wantCluster {
				t.Errorf("journalled cluster %+v, want %+v (kubeconfig made absolute)", file.Cluster, wantCluster)
			}
			for _, key := range []string{"kubeconfig", "context", "kindCluster"} {
				if _, ok := file.Spec[key]; ok {
					t.Errorf("spec repeats the cluster's %s: %s", key, raw)
				}
			}
			entries, err := journal.List("run")
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(entries, func(x journal.Entry) bool { return x.ID == e.ID })
			if i < 0 {
				t.Fatalf("entry %s not listed", e.ID)
			}
			again, err := rebuild(context.Background(), entries[i])
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(again.Spec(), f.Spec()) || again.Describe() != f.Describe() {
				t.Errorf("rebuilt %+v (%s), want %+v (%s)", again.Spec(), again.Describe(), f.Spec(), f.Describe())
			}
		})
	}
}

func TestRebuildRefusesANodeFaultWithoutItsKindCluster(t *testing.T) {
	e := journal.Entry{ID: "x", Spec: chaos.Spec{Kind: chaos.NodeStop, Node: "w1"}}
	if _, err := rebuild(context.Background(), e); err == nil {
		t.Fatal("a node fault with no kind cluster was rebuilt: its container check would accept any container")
	}
}

// pod-kill, planned, injected and reverted: the irreversible fault closes
// its journal entry without needing to reach the cluster again.
func TestPodKillIsJournalledAndClosed(t *testing.T) {
	t.Setenv("KUBEPROOF_JOURNAL_DIR", t.TempDir())
	target := kubeproofCluster()
	target.Kubeconfig = filepath.Join(t.TempDir(), "no-such-kubeconfig")
	f, err := Plan(t.Context(), target, Request{Kind: chaos.PodKill, Namespace: "ns", Selector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	e, err := Inject(t.Context(), "run", target, f)
	if err != nil {
		t.Fatal(err)
	}
	deleted := slices.ContainsFunc(target.Client.(*fake.Clientset).Actions(), func(a k8stesting.Action) bool {
		dc, ok := a.(k8stesting.DeleteCollectionAction)
		return ok && dc.GetNamespace() == "ns" && dc.GetListRestrictions().Labels.String() == "app=web"
	})
	if !deleted {
		t.Errorf("no delete of pods app=web in ns: %v", target.Client.(*fake.Clientset).Actions())
	}
	if entries, _ := journal.List("run"); len(entries) != 1 || entries[0].Cluster != target.Cluster {
		t.Fatalf("want one entry in cluster %+v, got %+v", target.Cluster, entries)
	}
	if err := Revert(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	if entries, _ := journal.List("run"); len(entries) != 0 {
		t.Errorf("entry left after revert: %+v", entries)
	}
}

func TestInjectRefusesAnUnregisteredKind(t *testing.T) {
	t.Setenv("KUBEPROOF_JOURNAL_DIR", t.TempDir())
	_, err := Inject(t.Context(), "run", kubeproofCluster(), unregistered{})
	if !errors.Is(err, ErrUnknownKind) {
		t.Fatalf("want ErrUnknownKind, got %v", err)
	}
	if entries, _ := journal.List(""); len(entries) != 0 {
		t.Errorf("an unregistered fault was journalled: %+v", entries)
	}
}

type unregistered struct{ chaos.Fault }

func (unregistered) Spec() chaos.Spec { return chaos.Spec{Kind: "disk-fill"} }
func (unregistered) Describe() string { return "fill the disk" }

func TestRevertRefusesAnotherCluster(t *testing.T) {
	ctx := context.Background()
	ks := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system", UID: "uid-a"}}
	a := chaos.Cluster{Context: "kind-a", Server: "https://127.0.0.1:40001", UID: "uid-a"}
	for _, c := range []struct {
		name    string
		want    chaos.Cluster
		host    string
		client  *fake.Clientset
		wrong   bool
		errHas  string
		success bool
	}{
		{"same cluster", a, "https://127.0.0.1:40001/", fake.NewClientset(ks), false, "", true},
		{"another server", a, "https://10.0.0.1:6443", fake.NewClientset(ks), true, "belongs to kind-a at https://127.0.0.1:40001", false},
		{"same address, rebuilt cluster", a, a.Server, fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system", UID: "uid-b"}}), true, "kube-system uid-a", false},
		{"identity unreadable", a, a.Server, fake.NewClientset(), false, "nothing reverted", false},
		{"nothing recorded (older journal)", chaos.Cluster{Context: "kind-a"}, "https://elsewhere", fake.NewClientset(), false, "", true},
	} {
		err := sameCluster(ctx, c.want, c.host, c.client)
		if c.success != (err == nil) || c.wrong != errors.Is(err, ErrWrongCluster) || (c.errHas != "" && (err == nil || !strings.Contains(err.Error(), c.errHas))) {
			t.Errorf("%s: got %v", c.name, err)
		}
	}
}

// A journalled drain whose kubeconfig now names another server is not
// rebuilt: nothing is uncordoned on the wrong cluster.
func TestRebuildRefusesWhenTheKubeconfigMovedOn(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	data := `apiVersion: v1
kind: Config
clusters: [{name: b, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: kind-a, context: {cluster: b, user: u}}]
users: [{name: u, user: {token: t}}]
current-context: kind-a
`
	if err := os.WriteFile(kubeconfig, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	e := journal.Entry{ID: "run-drain-w1", Spec: chaos.Spec{Kind: chaos.Drain, Node: "w1"},
		Cluster: chaos.Cluster{Kubeconfig: kubeconfig, Context: "kind-a", Server: "https://127.0.0.1:40001", UID: "uid-a"}}
	_, err := rebuild(context.Background(), e)
	if !errors.Is(err, ErrWrongCluster) || !strings.Contains(err.Error(), "https://127.0.0.1:1") {
		t.Errorf("rebuild against a moved kubeconfig: want ErrWrongCluster naming both servers, got %v", err)
	}
}

// Input the user must fix is told apart from a refusal and from a cluster
// error: the CLI exits 2 for it.
func TestBadRequestsAreTheCallers(t *testing.T) {
	for _, r := range []Request{
		{Kind: chaos.Drain, Node: "nope"},
		{Kind: chaos.KubeletFreeze, Node: "w1", AllowPrivilegedPods: true}, // no image, no duration
	} {
		_, err := Plan(context.Background(), kubeproofCluster(), r)
		if !errors.Is(err, ErrBadRequest) || errors.Is(err, ErrUnsafe) {
			t.Errorf("%+v: want ErrBadRequest, got %v", r, err)
		}
	}
}

func TestControlPlaneFoundWithoutItsLabel(t *testing.T) {
	plain := func(name string) *corev1.Node { return node(name, false, true, "", "") }
	legacy := plain("legacy")
	legacy.Labels["node-role.kubernetes.io/master"] = ""
	tainted := plain("tainted")
	tainted.Spec.Taints = []corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}}
	static := plain("static")
	mirror := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "etcd-static", Namespace: "kube-system",
		Annotations: map[string]string{corev1.MirrorPodAnnotationKey: "x"}, Labels: map[string]string{"component": "etcd"}},
		Spec: corev1.PodSpec{NodeName: "static"}}
	// A DaemonSet pod is not a static pod: the worker stays a worker.
	proxy := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "kube-proxy-abcde", Namespace: "kube-system", Labels: map[string]string{"component": "kube-proxy"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "kube-proxy", Controller: ptr.To(true)}}},
		Spec: corev1.PodSpec{NodeName: "w1"}}
	proxyDS := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "kube-proxy", Namespace: "kube-system"}}
	target := Target{Client: fake.NewClientset(legacy, tainted, static, plain("w1"), mirror, proxy, proxyDS), Owned: true}
	for _, n := range []string{"legacy", "tainted", "static"} {
		_, err := Plan(context.Background(), target, Request{Kind: chaos.Drain, Node: n})
		if !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), "control-plane") {
			t.Errorf("%s: want refused as a control-plane node, got %v", n, err)
		}
	}
	if _, err := Plan(context.Background(), target, Request{Kind: chaos.Drain, Node: "w1"}); err != nil {
		t.Errorf("w1 (kube-proxy only): want planned, got %v", err)
	}
	t.Setenv("KUBEPROOF_NODE_NAME", "w1")
	if _, err := Plan(context.Background(), target, Request{Kind: chaos.Drain, Node: "w1"}); !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), "runs kubeproof") {
		t.Errorf("the runner's node: want refused, got %v", err)
	}
}

// Every test here journals into its own directory, never the machine's.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kubeproof-journal-")
	if err != nil {
		panic(err)
	}
	os.Setenv("KUBEPROOF_JOURNAL_DIR", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestOneNodeAtATimeAcrossProcesses(t *testing.T) {
	t.Setenv("KUBEPROOF_JOURNAL_DIR", t.TempDir())
	kp := kubeproofCluster()
	// Another process's fault, journalled on the same cluster.
	if err := journal.Record(journal.Entry{ID: "other-node-stop-w2-1", RunID: "other", Spec: chaos.Spec{Kind: chaos.NodeStop, Node: "w2"}, Cluster: kp.Cluster, InjectedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	_, err := Plan(context.Background(), kp, Request{Kind: chaos.Drain, Node: "w1"})
	if !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), "node-stop on w2") || !strings.Contains(err.Error(), "--run-id other") {
		t.Errorf("a second node fault on one cluster: want refused naming the first, got %v", err)
	}
	elsewhere := kubeproofCluster()
	elsewhere.Cluster = chaos.Cluster{Context: "kind-b", KindCluster: "b", Server: "https://127.0.0.1:40002"}
	if _, err := Plan(context.Background(), elsewhere, Request{Kind: chaos.Drain, Node: "w1"}); err != nil {
		t.Errorf("a fault on another cluster must not block this one: %v", err)
	}
}

// chaos revert leaves a live run's faults to it, unless forced.
func TestRevertAllSkipsALiveRunsFaults(t *testing.T) {
	t.Setenv("KUBEPROOF_JOURNAL_DIR", t.TempDir())
	sleeper := exec.Command("sleep", "30")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
	// pod-kill entries: closing them needs no cluster.
	live := journal.Entry{ID: "live-pod-kill-1", RunID: "live", Spec: chaos.Spec{Kind: chaos.PodKill}, Owner: proc.Owner(sleeper.Process.Pid), InjectedAt: time.Now()}
	gone := journal.Entry{ID: "gone-pod-kill-1", RunID: "gone", Spec: chaos.Spec{Kind: chaos.PodKill}, Owner: proc.Owner(999999999), InjectedAt: time.Now()}
	for _, e := range []journal.Entry{live, gone} {
		if err := journal.Record(e); err != nil {
			t.Fatal(err)
		}
	}
	done, skipped, err := RevertAll(context.Background(), "", false)
	if err != nil || len(done) != 1 || done[0].ID != gone.ID || len(skipped) != 1 || skipped[0].ID != live.ID {
		t.Fatalf("RevertAll = done %v, skipped %v, %v; want the dead run's fault reverted and the live run's skipped", done, skipped, err)
	}
	done, skipped, err = RevertAll(context.Background(), "", true)
	if err != nil || len(done) != 1 || done[0].ID != live.ID || len(skipped) != 0 {
		t.Errorf("forced RevertAll = done %v, skipped %v, %v; want the live run's fault reverted", done, skipped, err)
	}
}

// A kind fault journalled against one Docker engine is not reverted
// through another: a same-named kind cluster there is another cluster.
func TestRebuildRefusesAnotherDockerEngine(t *testing.T) {
	t.Setenv("DOCKER_HOST", "tcp://10.0.0.9:2375")
	e := journal.Entry{ID: "run-node-stop-w1", Spec: chaos.Spec{Kind: chaos.NodeStop, Node: "kp-worker"},
		Cluster: chaos.Cluster{Context: "kind-kp", KindCluster: "kp", Docker: "unix:///var/run/docker.sock"}}
	_, err := rebuild(context.Background(), e)
	if !errors.Is(err, ErrWrongCluster) || !strings.Contains(err.Error(), "unix:///var/run/docker.sock") {
		t.Fatalf("want ErrWrongCluster naming the fault's engine, got %v", err)
	}
	t.Setenv("DOCKER_HOST", "")
	if _, err := rebuild(context.Background(), e); err != nil {
		t.Errorf("the same engine: want the fault rebuilt, got %v", err)
	}
}
