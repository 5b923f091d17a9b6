package resilience

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/kubeproof/kubeproof/internal/kube"
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

	nodes  cache.SharedIndexInformer
	pods   cache.SharedIndexInformer
	slices cache.SharedIndexInformer
	stop   chan struct{}
}

func newObserver(c *kube.Client, ns, victim, app string, replicas int) *observer {
	o := &observer{victim: victim, app: app, replicas: replicas, phases: map[string]time.Duration{}, stop: make(chan struct{})}
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
	var node *corev1.Node
	if obj, ok, _ := o.nodes.GetStore().GetByKey(o.victim); ok {
		node = obj.(*corev1.Node)
	}
	ready := node != nil && kube.NodeReady(node)
	o.mark(phaseNotReady, !ready)
	o.mark(phaseTainted, node != nil && hasOutageTaint(node))
	if _, down := o.phases[phaseNotReady]; down {
		o.mark(phaseRecovered, ready && node != nil && !node.Spec.Unschedulable && !hasOutageTaint(node))
	}

	sel := labels.SelectorFromSet(labels.Set{"app": o.app})
	onVictim, evicted, readyElsewhere := 0, 0, 0
	for _, obj := range o.pods.GetStore().List() {
		p := obj.(*corev1.Pod)
		if !sel.Matches(labels.Set(p.Labels)) {
			continue
		}
		if p.Spec.NodeName == o.victim {
			onVictim++
			if p.DeletionTimestamp != nil {
				evicted++
			}
		} else if p.DeletionTimestamp == nil && kube.PodReady(p) {
			readyElsewhere++
		}
	}
	o.mark(phaseEvicted, onVictim == evicted)
	o.mark(phaseReplaced, readyElsewhere >= o.replicas)

	servingFromVictim := false
	for _, obj := range o.slices.GetStore().List() {
		s := obj.(*discoveryv1.EndpointSlice)
		for _, e := range s.Endpoints {
			if e.NodeName != nil && *e.NodeName == o.victim && (e.Conditions.Ready == nil || *e.Conditions.Ready) {
				servingFromVictim = true
			}
		}
	}
	o.mark(phaseEndpoints, !servingFromVictim)
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
