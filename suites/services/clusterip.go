package services

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeproof/kubeproof/fixtures/wire"
	"github.com/kubeproof/kubeproof/suites/framework"
)

func clusterIPByIPAndName(ctx context.Context, f *framework.Framework) {
	// The shared servers behind it, a shared client on every node.
	p := f.Peers(ctx, 1)
	svc := framework.Create(ctx, f, p.Services(f), peerService("web"))
	backends, clients := p.Servers, p.Clients
	// The short name relies on the client's DNS search path, the
	// name.namespace form on the svc.<domain> search entry.
	hosts := []string{svc.Name + "." + svc.Namespace, svc.Name}
	// Each node's kube-proxy programs the Service on its own, so each
	// client gets the full wait; all run at once, so that one line names
	// every node that fails. The names get the same wait: cluster DNS
	// learns of the Service from its own watch, which may lag kube-proxy's
	// (seen after an API server restart: a name unknown for a moment
	// while the ClusterIP already answered).
	failed := framework.FromEach(ctx, clients, func(ctx context.Context, from *corev1.Pod) (bool, string) {
		if r, ok := pollHTTP(ctx, f, from, framework.ServiceURL(svc, "/hostname"), backends, framework.ProgramTimeout); !ok {
			return false, "by ClusterIP: " + r.String()
		}
		for _, host := range hosts {
			if r, ok := pollHTTP(ctx, f, from, framework.HostURL(host, wire.HTTPPort, "/hostname"), backends, framework.ProgramTimeout); !ok {
				return false, "by " + host + ": " + r.String()
			}
		}
		return true, ""
	})
	if len(failed) > 0 {
		framework.Failf("%s port %d by ClusterIP, then by %s: want HTTP 200 from one of %s from a client on every one of %d schedulable nodes within %s%s, failed from %d: %s",
			framework.DescribeService(svc), wire.HTTPPort, strings.Join(hosts, " and "), framework.PodsOnNodes(backends), len(clients), framework.ProgramTimeout, framework.CutShort(ctx), len(failed), strings.Join(failed, "; "))
	}
}

// rejectTimeout is the client's patience: a refusal comes back in
// milliseconds, so anything near it means the packets were dropped.
const rejectTimeout = 5 * time.Second

func rejectWithoutEndpoints(ctx context.Context, f *framework.Framework) {
	// The selector matches one pod, made unready, so the Service has an
	// endpoint, just no ready one: kube-proxy must not use it.
	svc := framework.Create(ctx, f, f.Services(), service("unready"))
	backends, client := startBackends(ctx, f, 1)
	url := framework.ServiceURL(svc, "/hostname")
	// An answer first: the client's node has programmed the ready
	// endpoint, so a refusal after the flip comes from the unready one,
	// not from the reject rule of a Service that had no endpoint yet.
	waitHTTP(ctx, f, client, framework.DescribeService(svc)+" before its backend turns unready", url, backends)
	setReady(ctx, f, client, backends[0], false)
	// Until kube-proxy has dropped the endpoint and programmed the reject
	// rule, requests are answered.
	last := wire.Result{Error: "not tried"}
	if !framework.Poll(ctx, framework.ProgramTimeout, poll, func(ctx context.Context) bool {
		last = f.HTTPGet(ctx, client, url, framework.RequestTimeout)
		return last.Error == "refused"
	}) {
		framework.Failf("%s whose only backend %s is unready, from %s: want the connection refused within %s of making it unready%s, got %s", framework.DescribeService(svc), framework.PodsOnNodes(backends), framework.DescribePod(client), framework.ProgramTimeout, framework.CutShort(ctx), last)
	}
	r := f.HTTPGet(ctx, client, url, rejectTimeout)
	if r.Error != "refused" || r.LatencyMS >= float64(rejectTimeout.Milliseconds()) {
		framework.Failf("%s whose only backend %s is unready, from %s: want the connection refused within %s, got %s", framework.DescribeService(svc), framework.PodsOnNodes(backends), framework.DescribePod(client), rejectTimeout, r)
	}
	framework.Measure("rejection without ready endpoints", r.LatencyMS, "ms")
}

func hairpin(ctx context.Context, f *framework.Framework) {
	// The pod is its Service's only backend, so every request through
	// the ClusterIP leaves the pod and must come back into it.
	p := f.Peers(ctx, 1)
	self := p.Servers[0]
	s := peerService("self")
	s.Spec.Selector = map[string]string{framework.LabelPeer: self.Labels[framework.LabelPeer]}
	svc := framework.Create(ctx, f, p.Services(f), s)
	waitHTTP(ctx, f, self, framework.DescribeService(svc)+" backed only by the client itself", framework.ServiceURL(svc, "/hostname"), []*corev1.Pod{self})
}

func multiPort(ctx context.Context, f *framework.Framework) {
	p := f.Peers(ctx, 1)
	svc := framework.Create(ctx, f, p.Services(f), peerService("multi",
		servicePort("http", corev1.ProtocolTCP, wire.HTTPPort),
		servicePort("tcp-echo", corev1.ProtocolTCP, wire.TCPPort),
		servicePort("udp-echo", corev1.ProtocolUDP, wire.UDPPort)))
	backends, client := p.Servers, p.Clients[0]
	waitHTTP(ctx, f, client, framework.DescribeService(svc)+" port http", framework.ServiceURL(svc, "/hostname"), backends)

	// kube-proxy programs all ports of a Service at once, so the other
	// ports need no waiting once HTTP answers.
	const msg = "kubeproof"
	addr := func(port int32) string { return net.JoinHostPort(svc.Spec.ClusterIP, strconv.Itoa(int(port))) }
	if r := f.TCP(ctx, client, addr(wire.TCPPort), msg, framework.RequestTimeout); !r.OK || r.Body != msg {
		framework.Failf("%s port tcp-echo (%d/TCP) from %s: want the echo %q from one of %s, got %s", framework.DescribeService(svc), wire.TCPPort, framework.DescribePod(client), msg, framework.PodsOnNodes(backends), r)
	}
	// UDP may lose a datagram even on a healthy network, so a few are
	// allowed; the echo starts with the name of the pod that answered.
	var r wire.Result
	for range 3 {
		if r = f.UDP(ctx, client, addr(wire.UDPPort), msg, framework.RequestTimeout); r.OK {
			break
		}
	}
	name, payload, _ := strings.Cut(r.Body, " ")
	if !r.OK || payload != msg || !slices.Contains(framework.Names(backends), name) {
		framework.Failf("%s port udp-echo (%d/UDP) from %s: want \"<backend> %s\" from one of %s in 3 datagrams, got %s", framework.DescribeService(svc), wire.UDPPort, framework.DescribePod(client), msg, framework.PodsOnNodes(backends), r)
	}
}
