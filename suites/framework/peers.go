package framework

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeproof/kubeproof/fixtures/meta"
	"github.com/kubeproof/kubeproof/internal/kube"
)

// Peers are the workload pods that the checks share when they only send
// requests and answer them (they never change a pod's readiness, labels or
// life): on each schedulable node a server and a client. Starting pods is
// most of what such a check would otherwise spend; what each check judges
// (its Services, DNS names, paths) is its own. Servers and clients are
// different pods, so that a request through a Service never loops back to
// its sender: only the hairpin check asks for that.
//
// One set serves every process of the run: process 1 creates it before
// the first spec (SynchronizedBeforeSuite), the others adopt it, and each
// waits for it on its first check that asks. Sharing is safe because no
// check changes a peer, and the checks that judge a load send it from the
// client of their own process's node (LoadClient), not through one pod.
// Where that start could not be made (a node not usable yet), each
// process starts its own on first use, as it then must. The pods live in a
// namespace of their own, labelled with the run, until the run's last
// process ends or a serial (disruptive) check starts.
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
	// own: this process created p (not the run's shared set), so it
	// deletes them when it is done.
	own bool
	// failure is the line the start failed with: every check that asks
	// for the peers afterwards fails with it too.
	failure string
}

// sharedPeers is the set process 1 created for the run: its namespace and
// nodes in order, handed to every process before the first spec. Zero when
// there is none (not created, or deleted before the serial checks).
var sharedPeers peerSet

type peerSet struct {
	Namespace string   `json:"namespace,omitempty"`
	Nodes     []string `json:"nodes,omitempty"`
}

// Peers returns the run's shared pods, waiting for them on first use (or
// starting this process's own when there is no shared set), and skips the
// spec, saying why, when fewer than n nodes can run pods.
func (f *Framework) Peers(ctx context.Context, n int) *Peers {
	ginkgo.GinkgoHelper()
	peers.Lock()
	defer peers.Unlock()
	f.usedPeers = true
	if peers.failure != "" {
		Failf("%s", peers.failure)
	}
	if peers.p == nil && ctx.Err() != nil {
		Failf("the pods the checks share: not started%s", CutShort(ctx))
	}
	if peers.p == nil {
		peers.p = startPeers(ctx, f)
	}
	if len(peers.p.Nodes) < n {
		ginkgo.Skip(fmt.Sprintf("needs %d schedulable nodes, the cluster has %d", n, len(peers.p.Nodes)))
	}
	return peers.p
}

// LoadClient is the peer client that sends a check's load: the one on the
// node of this process's number, so that the loads two processes run at
// once come from different pods, each paced by its own CPU.
func (p *Peers) LoadClient() *corev1.Pod {
	return p.Clients[(ginkgo.GinkgoParallelProcess()-1)%len(p.Clients)]
}

// Services is the Service API of the peers' namespace; Create gives the
// spec its own Service there, deleted when the spec ends.
func (p *Peers) Services(f *Framework) interface {
	Create(context.Context, *corev1.Service, metav1.CreateOptions) (*corev1.Service, error)
	Delete(context.Context, string, metav1.DeleteOptions) error
} {
	return f.Client.CoreV1().Services(p.Namespace)
}

// createSharedPeers is process 1's start of the run's set, before any
// spec: the pods are created, not waited for (the checks that ask wait,
// while their own pods start). Nothing is created when a schedulable node
// is not usable yet: the checks then wait for the nodes, and fail naming
// them, as they would without a shared set.
func createSharedPeers(ctx context.Context) peerSet {
	clientOnce.Do(newClient)
	c := sharedC
	if clientErr != nil {
		return peerSet{}
	}
	nodes, unusable, err := usableNodes(ctx, c)
	if err != nil || len(unusable) > 0 || len(nodes) == 0 {
		return peerSet{}
	}
	ns, err := createPeerPods(ctx, c, nodes)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubeproof: the shared pods were not created (each process starts its own): %v\n", err)
		if ns != "" {
			deleteNamespace(ctx, c, ns)
		}
		return peerSet{}
	}
	set := peerSet{Namespace: ns}
	for _, n := range nodes {
		set.Nodes = append(set.Nodes, n.Name)
	}
	return set
}

// startPeers waits for the run's shared set, or creates this process's
// own and waits for it. A failure is kept for the checks that ask later,
// unless the spec's own context ended (an interrupt, a timeout): then the
// next one tries again.
func startPeers(ctx context.Context, f *Framework) *Peers {
	ginkgo.GinkgoHelper()
	var p *Peers
	var err error
	if sharedPeers.Namespace != "" {
		p, err = adoptPeers(ctx, f.Client, sharedPeers)
	} else {
		p, err = ownPeers(ctx, f)
	}
	if err != nil {
		if ctx.Err() != nil {
			deletePeers(ctx)
		} else {
			peers.failure = "the pods the checks share did not start: " + err.Error()
		}
		Failf("the pods the checks share did not start: %v", err)
	}
	return p
}

// clientCPU is the CPU request of the peers' clients.
const clientCPU = "100m"

func ownPeers(ctx context.Context, f *Framework) (*Peers, error) {
	nodes, err := f.schedulableNodes(ctx)
	if err != nil {
		return nil, err
	}
	ns, err := createPeerPods(ctx, f.Client, nodes)
	if ns != "" {
		peersNamespace, peers.own = ns, true
	}
	if err != nil {
		return nil, err
	}
	return waitPeers(ctx, f.Client, ns, nodes)
}

// adoptPeers waits for the shared set on the nodes it was made for.
func adoptPeers(ctx context.Context, c *kube.Client, set peerSet) (*Peers, error) {
	peersNamespace = set.Namespace
	list, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %v", err)
	}
	var nodes []corev1.Node
	for _, name := range set.Nodes {
		i := slices.IndexFunc(list.Items, func(n corev1.Node) bool { return n.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("node %s, which pods of namespace %s run on, is gone", name, set.Namespace)
		}
		nodes = append(nodes, list.Items[i])
	}
	return waitPeers(ctx, c, set.Namespace, nodes)
}

// createPeerPods creates the namespace and, on each node, a server and a
// client; it returns the namespace once created, even on a later error.
func createPeerPods(ctx context.Context, c *kube.Client, nodes []corev1.Node) (string, error) {
	labels := meta.Restricted(RunLabels())
	labels[meta.LabelSpec] = "peers"
	ns, err := c.CreateNamespace(ctx, "kubeproof-peers", labels, map[string]string{meta.AnnotationOwner: Owner()})
	if err != nil {
		return "", err
	}
	if err := copyPullSecret(ctx, c, ns); err != nil {
		return ns, err
	}
	// All at once: every process waits for this before its first spec.
	var pods []*corev1.Pod
	for i, n := range nodes {
		pods = append(pods, peerPods(i, n.Name)...)
	}
	errs := make([]error, len(pods))
	var wg sync.WaitGroup
	for i, pod := range pods {
		wg.Go(func() {
			if _, err := c.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
				errs[i] = fmt.Errorf("create pod %s/%s: %v", ns, pod.Name, err)
			}
		})
	}
	wg.Wait()
	// The first refusal: one line, and the others are most likely the same.
	for _, err := range errs {
		if err != nil {
			return ns, err
		}
	}
	return ns, nil
}

// peerPods are the server and the client on the i-th node.
func peerPods(i int, node string) []*corev1.Pod {
	server := fmt.Sprintf("server-%d", i)
	var out []*corev1.Pod
	for _, s := range []Server{
		{Name: server, Node: node, Hostname: server, Subdomain: PeerSubdomain, Labels: map[string]string{"app": PeerServerApp, LabelPeer: server}},
		// The client paces the checks' loads (80 requests/s, judged per
		// 250 ms): with the servers' 5m it could be starved for an
		// interval on a busy node and send nothing in it.
		{Name: fmt.Sprintf("client-%d", i), Node: node, CPU: clientCPU},
	} {
		pod := ServerPod(s)
		for k, v := range RunLabels() {
			pod.Labels[k] = v
		}
		out = append(out, pod)
	}
	return out
}

// waitPeers follows the peers' pods until all are Ready.
func waitPeers(ctx context.Context, c *kube.Client, ns string, nodes []corev1.Node) (*Peers, error) {
	tracker := Follow(ctx, "pods of namespace "+ns, c.CoreV1().Pods(ns), metav1.ListOptions{},
		func(l *corev1.PodList) []*corev1.Pod { return Ptrs(l.Items) })
	var names []string
	for i := range nodes {
		names = append(names, fmt.Sprintf("server-%d", i), fmt.Sprintf("client-%d", i))
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

// peersNamespace is the namespace of the peers this process uses, "" before
// they start and once released.
var peersNamespace string

// releasePeers ends this process's use of the peers: its own are deleted
// without waiting (the runner's sweep confirms they are gone). The shared
// set is deleted too when all is true: by process 1 for a serial check,
// which runs once every other process is done, and after the others ended.
func releasePeers(ctx context.Context, all bool) {
	peers.Lock()
	defer peers.Unlock()
	deletePeers(ctx)
	if all && sharedPeers.Namespace != "" {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		deleteNamespace(ctx, client(), sharedPeers.Namespace)
		sharedPeers = peerSet{}
	}
}

// deletePeers drops this process's peers, deleting them if they are its
// own, for a caller holding the lock.
func deletePeers(ctx context.Context) {
	if peers.own && peersNamespace != "" {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		deleteNamespace(ctx, client(), peersNamespace)
	}
	peersNamespace, peers.p, peers.own = "", nil, false
}
