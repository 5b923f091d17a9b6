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
	backends, client := startBackends(ctx, f, 2, nil)
	svc := framework.Create(ctx, f, f.Services(), service("web"))
	want := framework.Names(backends)
	waitHTTP(ctx, f, client, framework.DescribeService(svc), framework.ServiceURL(svc, "/hostname"), want)
	// The short name relies on the client's DNS search path, the
	// name.namespace form on the svc.<domain> search entry.
	for _, host := range []string{svc.Spec.ClusterIP, svc.Name + "." + svc.Namespace, svc.Name} {
		expectHTTP(ctx, f, client, framework.DescribeService(svc)+" by "+host, framework.HostURL(host, wire.HTTPPort, "/hostname"), want)
	}
}

// rejectTimeout is the client's patience: a refusal comes back in
// milliseconds, so anything near it means the packets were dropped.
const rejectTimeout = 5 * time.Second

func rejectWithoutEndpoints(ctx context.Context, f *framework.Framework) {
	// The selector matches one pod, made unready, so the Service has an
	// endpoint, just no ready one: kube-proxy must not use it.
	backends, client := startBackends(ctx, f, 1, nil)
	setReady(ctx, f, client, backends[0], false)
	svc := framework.Create(ctx, f, f.Services(), service("unready"))
	url := framework.ServiceURL(svc, "/hostname")
	// Until kube-proxy has programmed the reject rule, packets to the
	// fresh ClusterIP go nowhere and time out.
	last := wire.Result{Error: "not tried"}
	if !framework.Poll(ctx, framework.ProgramTimeout, poll, func(ctx context.Context) bool {
		last = f.HTTPGet(ctx, client, url, framework.RequestTimeout)
		return last.Error == "refused"
	}) {
		framework.Failf("%s whose only backend %s is unready, from pod %s: want the connection refused within %s of creating it%s, got %s", framework.DescribeService(svc), backends[0].Name, client.Name, framework.ProgramTimeout, framework.CutShort(ctx), last)
	}
	r := f.HTTPGet(ctx, client, url, rejectTimeout)
	if r.Error != "refused" || r.LatencyMS >= float64(rejectTimeout.Milliseconds()) {
		framework.Failf("%s whose only backend %s is unready, from pod %s: want the connection refused within %s, got %s", framework.DescribeService(svc), backends[0].Name, client.Name, rejectTimeout, r)
	}
	framework.Measure("rejection without ready endpoints", r.LatencyMS, "ms")
}

func hairpin(ctx context.Context, f *framework.Framework) {
	// The pod is its Service's only backend, so every request through
	// the ClusterIP leaves the pod and must come back into it.
	pods := f.StartServers(ctx, framework.Server{Name: backendApp, Labels: map[string]string{"app": backendApp}})
	self := pods[0]
	svc := framework.Create(ctx, f, f.Services(), service("self"))
	waitHTTP(ctx, f, self, framework.DescribeService(svc)+" backed only by pod "+self.Name, framework.ServiceURL(svc, "/hostname"), []string{self.Name})
}

func multiPort(ctx context.Context, f *framework.Framework) {
	backends, client := startBackends(ctx, f, 2, nil)
	svc := framework.Create(ctx, f, f.Services(), service("multi",
		servicePort("http", corev1.ProtocolTCP, wire.HTTPPort),
		servicePort("tcp-echo", corev1.ProtocolTCP, wire.TCPPort),
		servicePort("udp-echo", corev1.ProtocolUDP, wire.UDPPort)))
	want := framework.Names(backends)
	waitHTTP(ctx, f, client, framework.DescribeService(svc)+" port http", framework.ServiceURL(svc, "/hostname"), want)

	// kube-proxy programs all ports of a Service at once, so the other
	// ports need no waiting once HTTP answers.
	const msg = "kubeproof"
	addr := func(port int32) string { return net.JoinHostPort(svc.Spec.ClusterIP, strconv.Itoa(int(port))) }
	if r := f.TCP(ctx, client, addr(wire.TCPPort), msg, framework.RequestTimeout); !r.OK || r.Body != msg {
		framework.Failf("%s port tcp-echo (%d/TCP) from pod %s: want the echo %q, got %s", framework.DescribeService(svc), wire.TCPPort, client.Name, msg, r)
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
	if !r.OK || payload != msg || !slices.Contains(want, name) {
		framework.Failf("%s port udp-echo (%d/UDP) from pod %s: want \"<one of %v> %s\" in 3 datagrams, got %s", framework.DescribeService(svc), wire.UDPPort, client.Name, want, msg, r)
	}
}
