package services

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubeproof/kubeproof/fixtures/wire"
	"github.com/kubeproof/kubeproof/suites/framework"
)

const (
	// dnsTimeout leaves room for a resolver that caches answers for up
	// to 30 s (kind's CoreDNS does not cache cluster.local, others may).
	dnsTimeout = time.Minute
	poll       = 500 * time.Millisecond
	// clusterDomain is the DNS domain of Services: kind's and kubeadm's default.
	clusterDomain = "cluster.local"
	backendApp    = "backend"
)

// service returns a ClusterIP Service selecting the backends, on the
// workload's HTTP port unless ports are given; specs adjust the rest.
func service(name string, ports ...corev1.ServicePort) *corev1.Service {
	if len(ports) == 0 {
		ports = []corev1.ServicePort{servicePort("http", corev1.ProtocolTCP, wire.HTTPPort)}
	}
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": backendApp}, Ports: ports},
	}
}

// peerService is service over the process's shared servers (one on every
// node), named name-<random>, to be created in their namespace.
func peerService(name string, ports ...corev1.ServicePort) *corev1.Service {
	svc := service(name, ports...)
	svc.GenerateName, svc.Name = name+"-", ""
	svc.Spec.Selector = map[string]string{"app": framework.PeerServerApp}
	return svc
}

func servicePort(name string, proto corev1.Protocol, port int32) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Protocol: proto, Port: port, TargetPort: intstr.FromInt32(port)}
}

// startBackends starts n backends of the spec's own (backend-0...,
// labelled app=backend) and returns them with a client: one of the
// process's shared clients (framework.Peers), which only sends.
func startBackends(ctx context.Context, f *framework.Framework, n int) (backends []*corev1.Pod, client *corev1.Pod) {
	ginkgo.GinkgoHelper()
	backends, clients := startBackendsAndClients(ctx, f, n)
	return backends, clients[0]
}

// startBackendsAndClients is startBackends with the shared client on
// every schedulable node, for paths each node programs.
func startBackendsAndClients(ctx context.Context, f *framework.Framework, n int) (backends, clients []*corev1.Pod) {
	ginkgo.GinkgoHelper()
	clients = f.Peers(ctx, 1).Clients
	var servers []framework.Server
	for i := range n {
		servers = append(servers, framework.Server{Name: fmt.Sprintf("%s-%d", backendApp, i), Labels: map[string]string{"app": backendApp}})
	}
	return f.StartServers(ctx, servers...), clients
}

// pollHTTP sends GETs from a pod until one is answered by one of want,
// for at most timeout, and returns the last answer.
func pollHTTP(ctx context.Context, f *framework.Framework, from *corev1.Pod, url string, want []*corev1.Pod, timeout time.Duration) (wire.Result, bool) {
	ginkgo.GinkgoHelper()
	names := framework.Names(want)
	last := wire.Result{Error: "not tried"}
	within := framework.ProbeTimeouts()
	ok := framework.Poll(ctx, timeout, poll, func(ctx context.Context) bool {
		last = f.HTTPGet(ctx, from, url, within())
		return last.OK && slices.Contains(names, last.Body)
	})
	return last, ok
}

// waitHTTP waits until one of want answers at url: a new Service's
// endpoints and rules take a moment to be programmed.
func waitHTTP(ctx context.Context, f *framework.Framework, from *corev1.Pod, what, url string, want []*corev1.Pod) {
	ginkgo.GinkgoHelper()
	if r, ok := pollHTTP(ctx, f, from, url, want, framework.ProgramTimeout); !ok {
		framework.Failf("%s at %s from %s: want HTTP 200 from one of %s within %s%s, got %s", what, url, framework.DescribePod(from), framework.PodsOnNodes(want), framework.ProgramTimeout, framework.CutShort(ctx), r)
	}
}

// expectHTTP sends one GET and requires an answer from one of want.
func expectHTTP(ctx context.Context, f *framework.Framework, from *corev1.Pod, what, url string, want []*corev1.Pod) {
	ginkgo.GinkgoHelper()
	if r := f.HTTPGet(ctx, from, url, framework.RequestTimeout); !r.OK || !slices.Contains(framework.Names(want), r.Body) {
		framework.Failf("%s at %s from %s: want HTTP 200 from one of %s, got %s", what, url, framework.DescribePod(from), framework.PodsOnNodes(want), r)
	}
}

// tally counts who answered a series of requests: a backend's name, or
// the error class ("timeout", "refused", "http-503") of a failed one.
type tally map[string]int

// send sends n requests from a pod in one batch (framework.HTTPBatch),
// each on a connection of its own, and counts who answered.
func send(ctx context.Context, f *framework.Framework, from *corev1.Pod, url string, n int) tally {
	ginkgo.GinkgoHelper()
	got, err := f.HTTPBatch(ctx, from, url, n)
	if err != nil {
		framework.Failf("%v", err)
	}
	t := tally{}
	for k, c := range got.Backends {
		t[k] += c
	}
	for k, c := range got.Errors {
		t[k] += c
	}
	if unnamed := got.OK - sum(got.Backends); unnamed > 0 {
		t["(empty body)"] += unnamed
	}
	return t
}

func sum(m map[string]int) int {
	n := 0
	for _, c := range m {
		n += c
	}
	return n
}

// backends lists the answers that name one of the backends, sorted.
func (t tally) backends(names []string) []string {
	var out []string
	for k := range t {
		if slices.Contains(names, k) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// String prints "backend-0=12, backend-1=8", sorted.
func (t tally) String() string {
	var parts []string
	for k, n := range t {
		parts = append(parts, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// setReady flips a backend's readiness through its HTTP API, by pod IP,
// and returns when the flip was confirmed.
func setReady(ctx context.Context, f *framework.Framework, from, pod *corev1.Pod, ready bool) time.Time {
	ginkgo.GinkgoHelper()
	path := "/ready/off"
	if ready {
		path = "/ready/on"
	}
	url := framework.PodURL(pod, path)
	if r := f.HTTPGet(ctx, from, url, framework.RequestTimeout); !r.OK {
		framework.Failf("GET %s (%s) from %s: want HTTP 200, got %s", url, framework.DescribeTarget(pod), framework.DescribePod(from), r)
	}
	return time.Now()
}
