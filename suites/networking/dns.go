package networking

import (
	"fmt"
	"time"

	"github.com/onsi/ginkgo/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubeproof/kubeproof/fixtures"
	"github.com/kubeproof/kubeproof/suites/contract"
	"github.com/kubeproof/kubeproof/suites/framework"
)

// dnsTimeout bounds how long a new Service may take to appear in DNS: the
// CoreDNS kubernetes plugin watches the API, so seconds, not minutes.
const dnsTimeout = 30 * time.Second

var _ = framework.Describe("cluster DNS", contract.AreaNetworking, contract.AreaDNS, func() {
	f := framework.New("dns")

	framework.Check("Service A records",
		"A ClusterIP Service's name <service>.<namespace>.svc.cluster.local MUST resolve to its ClusterIP from a pod on every schedulable node.",
		contract.ProfileQuick, contract.ProfileCore,
		func(ctx ginkgo.SpecContext) {
			// The clients are the process's shared pods on every node.
			clients := f.Peers(ctx, 1).Clients
			svc := framework.Create(ctx, f, f.Services(), service("web", false))
			name := fmt.Sprintf("web.%s.svc.cluster.local", f.Namespace)
			f.ExpectResolves(ctx, clients, name, []string{svc.Spec.ClusterIP}, "the ClusterIP of "+framework.DescribeService(svc), dnsTimeout)
		})

	framework.Check("headless Service records",
		"A headless Service's name MUST resolve to the IPs of its ready pods, and only those, from a pod on every schedulable node.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) {
			// Its own headless Service over the shared servers, one on every
			// node, in their namespace.
			p := f.Peers(ctx, 1)
			svc := framework.Create(ctx, f, p.Services(f), headless(framework.PeerServerApp))
			name := fmt.Sprintf("%s.%s.svc.cluster.local", svc.Name, svc.Namespace)
			f.ExpectResolves(ctx, p.Clients, name, podIPs(p.Servers), "the IPs of "+framework.PodsOnNodes(p.Servers), dnsTimeout)
		})

	framework.Check("pod hostname and subdomain records",
		"A pod with hostname H and subdomain S under a headless Service S MUST resolve as H.S.<namespace>.svc.cluster.local to its IP from a pod on every schedulable node.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) {
			// The shared servers have hostname server-<i> and subdomain
			// framework.PeerSubdomain; the Service of that name is this
			// check's own.
			p := f.Peers(ctx, 1)
			s := headless(framework.PeerServerApp)
			s.GenerateName, s.Name = "", framework.PeerSubdomain
			svc := framework.Create(ctx, f, p.Services(f), s)
			pod := p.Servers[len(p.Servers)-1]
			name := fmt.Sprintf("%s.%s.%s.svc.cluster.local", pod.Spec.Hostname, svc.Name, svc.Namespace)
			f.ExpectResolves(ctx, p.Clients, name, podIPs([]*corev1.Pod{pod}), "the IP of "+framework.PodsOnNodes([]*corev1.Pod{pod}), dnsTimeout)
		})

	framework.Check("partial names through search paths",
		"From a pod on every schedulable node, the short names <service> and <service>.<namespace> MUST resolve through the search path to the Service's ClusterIP.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) {
			// The Service in the shared clients' namespace, so that
			// their search path applies.
			p := f.Peers(ctx, 1)
			s := service("web", false)
			s.GenerateName, s.Name = "web-", ""
			svc := framework.Create(ctx, f, p.Services(f), s)
			for _, name := range []string{svc.Name, svc.Name + "." + svc.Namespace, svc.Name + "." + svc.Namespace + ".svc"} {
				f.ExpectResolves(ctx, p.Clients, name, []string{svc.Spec.ClusterIP}, "the ClusterIP of "+framework.DescribeService(svc), dnsTimeout)
			}
		})
})

// headless is a headless Service over the pods labelled app=<app>, with a
// name of its own (web-<random>).
func headless(app string) *corev1.Service {
	svc := service(app, true)
	svc.GenerateName, svc.Name = "web-", ""
	return svc
}

func podIPs(pods []*corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Status.PodIP)
	}
	return out
}

// service is the workload's HTTP Service for pods labelled app=<name>,
// headless when asked.
func service(name string, headless bool) *corev1.Service {
	svc := fixtures.HTTPService(name)
	if headless {
		svc.Spec.ClusterIP = corev1.ClusterIPNone
	}
	return svc
}
