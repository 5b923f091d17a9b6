package resilience

import (
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/suites/framework"
)

// The phases of a node failure, in the order the control plane goes
// through them.
const (
	phaseNotReady  = "node Ready condition left True"
	phaseTainted   = "NoExecute taint applied"
	phaseEndpoints = "endpoints on the node removed"
	phaseEvicted   = "pods on the node evicted"
	phaseReplaced  = "replacements Ready on healthy nodes"
	phaseRecovered = "node Ready again after revert"
)

// phases in order, for reports and failure lines.
var phases = []string{phaseNotReady, phaseTainted, phaseEndpoints, phaseEvicted, phaseReplaced, phaseRecovered}

// observer watches the victim node, the app's pods and its EndpointSlices
// and records when each phase first holds: timings come from watch events,
// not from polling.
type observer struct {
	victim   string
	app      string
	replicas int

	mu     sync.Mutex
	start  time.Time
	phases map[string]time.Duration
	// fewest is the fewest available pods of the app (Ready, not being
	// deleted: what a PodDisruptionBudget counts) seen since start; -1
	// before the first look.
	fewest int

	nodes  cache.SharedIndexInformer
	pods   cache.SharedIndexInformer
	slices cache.SharedIndexInformer
	stop   chan struct{}
}

func newObserver(c *kube.Client, ns, victim, app string, replicas int) *observer {
	o := &observer{victim: victim, app: app, replicas: replicas, phases: map[string]time.Duration{}, stop: make(chan struct{}), fewest: -1}
	cluster := informers.NewSharedInformerFactory(c, 0)
	local := informers.NewSharedInformerFactoryWithOptions(c, 0, informers.WithNamespace(ns))
	o.nodes = cluster.Core().V1().Nodes().Informer()
	o.pods = local.Core().V1().Pods().Informer()
	o.slices = local.Discovery().V1().EndpointSlices().Informer()
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { o.evaluate() },
		UpdateFunc: func(any, any) { o.evaluate() },
		DeleteFunc: func(any) { o.evaluate() },
	}
	for _, inf := range []cache.SharedIndexInformer{o.nodes, o.pods, o.slices} {
		_, _ = inf.AddEventHandler(handler)
	}
	cluster.Start(o.stop)
	local.Start(o.stop)
	cache.WaitForCacheSync(o.stop, o.nodes.HasSynced, o.pods.HasSynced, o.slices.HasSynced)
	return o
}

func (o *observer) close() { close(o.stop) }

// begin sets the fault's injection time: phases are measured from it.
func (o *observer) begin(t time.Time) {
	o.mu.Lock()
	o.start = t
	o.mu.Unlock()
	o.evaluate()
}

// since returns when a phase first held, relative to the injection.
func (o *observer) since(phase string) (time.Duration, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	d, ok := o.phases[phase]
	return d, ok
}

func (o *observer) mark(phase string, holds bool) {
	if !holds {
		return
	}
	if _, done := o.phases[phase]; !done {
		o.phases[phase] = time.Since(o.start)
	}
}

func (o *observer) evaluate() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.start.IsZero() {
		return
	}
	v := o.look()
	ready := v.node != nil && kube.NodeReady(v.node)
	o.mark(phaseNotReady, !ready)
	o.mark(phaseTainted, v.node != nil && hasOutageTaint(v.node))
	if _, down := o.phases[phaseNotReady]; down {
		o.mark(phaseRecovered, ready && v.node != nil && !v.node.Spec.Unschedulable && !hasOutageTaint(v.node))
	}
	o.mark(phaseEvicted, v.onVictim == v.evicted)
	o.mark(phaseReplaced, v.readyElsewhere >= o.replicas)
	o.mark(phaseEndpoints, v.servingFromVictim == 0)
	if o.fewest < 0 || v.available < o.fewest {
		o.fewest = v.available
	}
}

// fewestAvailable is the fewest available pods seen since begin.
func (o *observer) fewestAvailable() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.fewest
}

// view is what the informers hold now, as the phases read it.
type view struct {
	node                              *corev1.Node
	onVictim, evicted, readyElsewhere int
	servingFromVictim                 int
	// available: Ready and not being deleted, anywhere.
	available int
}

func (o *observer) look() view {
	var v view
	if obj, ok, _ := o.nodes.GetStore().GetByKey(o.victim); ok {
		v.node = obj.(*corev1.Node)
	}
	sel := labels.SelectorFromSet(labels.Set{"app": o.app})
	for _, obj := range o.pods.GetStore().List() {
		p := obj.(*corev1.Pod)
		if !sel.Matches(labels.Set(p.Labels)) {
			continue
		}
		if p.DeletionTimestamp == nil && kube.PodReady(p) {
			v.available++
		}
		if p.Spec.NodeName == o.victim {
			v.onVictim++
			if p.DeletionTimestamp != nil {
				v.evicted++
			}
		} else if p.DeletionTimestamp == nil && kube.PodReady(p) {
			v.readyElsewhere++
		}
	}
	for _, obj := range o.slices.GetStore().List() {
		s := obj.(*discoveryv1.EndpointSlice)
		for _, e := range s.Endpoints {
			if e.NodeName != nil && *e.NodeName == o.victim && framework.EndpointReady(e) {
				v.servingFromVictim++
			}
		}
	}
	return v
}

// seen says, on one line, where the cluster stands and which phases held
// so far: the "got" of a phase that did not come in time.
func (o *observer) seen() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	v := o.look()
	node := "node not found"
	if v.node != nil {
		node = fmt.Sprintf("node Ready=%t, unschedulable=%t, outage taint=%t", kube.NodeReady(v.node), v.node.Spec.Unschedulable, hasOutageTaint(v.node))
	}
	var held []string
	for _, phase := range phases {
		if d, ok := o.phases[phase]; ok {
			held = append(held, fmt.Sprintf("%s at +%.1fs", phase, d.Seconds()))
		}
	}
	if len(held) == 0 {
		held = []string{"none"}
	}
	return fmt.Sprintf("%s; %d app pods on the node (%d terminating), %d of %d Ready elsewhere; %d ready endpoints on the node; phases so far: %s",
		node, v.onVictim, v.evicted, v.readyElsewhere, o.replicas, v.servingFromVictim, strings.Join(held, ", "))
}

// hasOutageTaint: the node lifecycle controller's NoExecute taints for a
// node that stopped reporting.
func hasOutageTaint(n *corev1.Node) bool {
	for _, t := range n.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoExecute && (t.Key == corev1.TaintNodeUnreachable || t.Key == corev1.TaintNodeNotReady) {
			return true
		}
	}
	return false
}
