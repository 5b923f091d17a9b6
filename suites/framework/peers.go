package framework

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeproof/kubeproof/fixtures/meta"
)

// Peers are the workload pods that the checks of one process share when
// they only send requests and answer them (they never change a pod's
// readiness, labels or life): on each schedulable node a server and a
// client. Starting pods is most of what such a check would otherwise
// spend; what each check judges (its Services, DNS names, paths) is its
// own. Servers and clients are different pods, so that a request through
// a Service never loops back to its sender: only the hairpin check asks
// for that. The pods live in a namespace of their own, labelled with the
// run, from the first check that asks until the process ends or a serial
// (disruptive) check starts.
type Peers struct {
	Namespace string
	// Nodes are the schedulable nodes; Servers[i] and Clients[i] run on Nodes[i].
	Nodes   []corev1.Node
	Servers []*corev1.Pod
	Clients []*corev1.Pod
}

const (
	// PeerServerApp is the app label of the servers: a Service selecting
	// it has one backend on every node.
	PeerServerApp = "kubeproof-server"
	// PeerSubdomain is the servers' subdomain: under a headless Service of
	// this name, server-<i>.<PeerSubdomain> names each one.
	PeerSubdomain = "kubeproof-peers"
	// LabelPeer names each server alone, for a Service of one backend.
	LabelPeer = "kubeproof.io/peer"
)

var peers struct {
	sync.Mutex
	p *Peers
	// failure is the line the start failed with: every check that asks
	// for the peers afterwards fails with it too.
	failure string
}

// Peers returns the process's shared pods, starting them on first use,
// and skips the spec, saying why, when fewer than n nodes can run pods.
func (f *Framework) Peers(ctx context.Context, n int) *Peers {
	ginkgo.GinkgoHelper()
	peers.Lock()
	defer peers.Unlock()
	f.usedPeers = true
	if peers.failure != "" {
		Failf("%s", peers.failure)
	}
	if peers.p == nil && ctx.Err() != nil {
		Failf("the pods this process's checks share: not started%s", CutShort(ctx))
	}
	if peers.p == nil {
		peers.p = startPeers(ctx, f)
	}
	if len(peers.p.Nodes) < n {
		ginkgo.Skip(fmt.Sprintf("needs %d schedulable nodes, the cluster has %d", n, len(peers.p.Nodes)))
	}
	return peers.p
}

// Services is the Service API of the peers' namespace; Create gives the
// spec its own Service there, deleted when the spec ends.
func (p *Peers) Services(f *Framework) interface {
	Create(context.Context, *corev1.Service, metav1.CreateOptions) (*corev1.Service, error)
	Delete(context.Context, string, metav1.DeleteOptions) error
} {
	return f.Client.CoreV1().Services(p.Namespace)
}

// startPeers creates the namespace and the pods and waits until all are
// Ready. A failure is kept for the checks that ask later, unless the
// spec's own context ended (an interrupt, a timeout): then the next one
// tries again.
func startPeers(ctx context.Context, f *Framework) *Peers {
	ginkgo.GinkgoHelper()
	p, err := createPeers(ctx, f)
	if err != nil {
		if ctx.Err() != nil {
			deletePeers(ctx)
		} else {
			peers.failure = "the pods this process's checks share did not start: " + err.Error()
		}
		Failf("the pods this process's checks share did not start: %v", err)
	}
	return p
}

// clientCPU is the CPU request of the peers' clients.
const clientCPU = "100m"

func createPeers(ctx context.Context, f *Framework) (*Peers, error) {
	nodes, err := f.schedulableNodes(ctx)
	if err != nil {
		return nil, err
	}
	labels := meta.Restricted(RunLabels())
	labels[meta.LabelSpec] = "peers"
	ns, err := f.Client.CreateNamespace(ctx, "kubeproof-peers", labels, map[string]string{meta.AnnotationOwner: Owner()})
	if err != nil {
		return nil, err
	}
	peersNamespace = ns
	if err := copyPullSecret(ctx, f.Client, ns); err != nil {
		return nil, err
	}
	tracker := Follow(ctx, "pods of namespace "+ns, f.Client.CoreV1().Pods(ns), metav1.ListOptions{},
		func(l *corev1.PodList) []*corev1.Pod { return Ptrs(l.Items) })
	var names []string
	for i, n := range nodes {
		server := fmt.Sprintf("server-%d", i)
		for _, s := range []Server{
			{Name: server, Node: n.Name, Hostname: server, Subdomain: PeerSubdomain, Labels: map[string]string{"app": PeerServerApp, LabelPeer: server}},
			// The client paces the checks' loads (80 requests/s, judged
			// per 250 ms): with the servers' 5m it could be starved for an
			// interval on a busy node and send nothing in it.
			{Name: fmt.Sprintf("client-%d", i), Node: n.Name, CPU: clientCPU},
		} {
			pod := ServerPod(s)
			for k, v := range RunLabels() {
				pod.Labels[k] = v
			}
			if _, err := f.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
				return nil, fmt.Errorf("create pod %s/%s: %v", ns, pod.Name, err)
			}
			names = append(names, pod.Name)
		}
	}
	pods, err := podsReady(ctx, tracker, names)
	if err != nil {
		return nil, err
	}
	p := &Peers{Namespace: ns, Nodes: nodes}
	for i := 0; i < len(pods); i += 2 {
		p.Servers = append(p.Servers, pods[i])
		p.Clients = append(p.Clients, pods[i+1])
	}
	return p, nil
}

// peersNamespace is the namespace of the peers, "" before they start and
// once deleted.
var peersNamespace string

// releasePeers deletes the peers' namespace, without waiting: the
// runner's sweep confirms it is gone.
func releasePeers(ctx context.Context) {
	peers.Lock()
	defer peers.Unlock()
	deletePeers(ctx)
}

// deletePeers is releasePeers for a caller holding the lock.
func deletePeers(ctx context.Context) {
	if peersNamespace == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	deleteNamespace(ctx, client(), peersNamespace)
	peersNamespace, peers.p = "", nil
}
