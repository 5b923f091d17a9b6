package networking

import (
	"context"
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
			clients := startClients(ctx, f)
			svc := framework.Create(ctx, f, f.Services(), service("web", false))
			name := fmt.Sprintf("web.%s.svc.cluster.local", f.Namespace)
			f.ExpectResolves(ctx, clients, name, []string{svc.Spec.ClusterIP}, "the ClusterIP of "+framework.DescribeService(svc), dnsTimeout)
		})

	framework.Check("headless Service records",
		"A headless Service's name MUST resolve to the IPs of its ready pods, and only those, from a pod on every schedulable node.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) {
			pods, clients := startServersAndClients(ctx, f,
				framework.Server{Name: "web-0", Labels: map[string]string{"app": "web"}},
				framework.Server{Name: "web-1", Labels: map[string]string{"app": "web"}})
			framework.Create(ctx, f, f.Services(), service("web", true))
			name := fmt.Sprintf("web.%s.svc.cluster.local", f.Namespace)
			f.ExpectResolves(ctx, clients, name, podIPs(pods), "the IPs of "+framework.PodsOnNodes(pods), dnsTimeout)
		})

	framework.Check("pod hostname and subdomain records",
		"A pod with hostname H and subdomain S under a headless Service S MUST resolve as H.S.<namespace>.svc.cluster.local to its IP from a pod on every schedulable node.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) {
			pods, clients := startServersAndClients(ctx, f,
				framework.Server{Name: "db", Hostname: "db-0", Subdomain: "members", Labels: map[string]string{"app": "members"}})
			framework.Create(ctx, f, f.Services(), service("members", true))
			name := fmt.Sprintf("db-0.members.%s.svc.cluster.local", f.Namespace)
			f.ExpectResolves(ctx, clients, name, podIPs(pods), "the IP of "+framework.PodsOnNodes(pods), dnsTimeout)
		})

	framework.Check("partial names through search paths",
		"From a pod on every schedulable node, the short names <service> and <service>.<namespace> MUST resolve through the search path to the Service's ClusterIP.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) {
			clients := startClients(ctx, f)
			svc := framework.Create(ctx, f, f.Services(), service("web", false))
			for _, name := range []string{"web", "web." + f.Namespace, "web." + f.Namespace + ".svc"} {
				f.ExpectResolves(ctx, clients, name, []string{svc.Spec.ClusterIP}, "the ClusterIP of "+framework.DescribeService(svc), dnsTimeout)
			}
		})
})

// startClients starts a client on every schedulable node: each node has
// its own route to the cluster DNS (kube-proxy's rules for its Service).
func startClients(ctx context.Context, f *framework.Framework) []*corev1.Pod {
	ginkgo.GinkgoHelper()
	_, clients := startServersAndClients(ctx, f)
	return clients
}

// startServersAndClients starts the servers and a client on every
// schedulable node, all at once.
func startServersAndClients(ctx context.Context, f *framework.Framework, servers ...framework.Server) (started, clients []*corev1.Pod) {
	ginkgo.GinkgoHelper()
	pods := f.StartServers(ctx, append(servers, framework.ClientsOn(f.RequireNodes(ctx, 1))...)...)
	return pods[:len(servers)], pods[len(servers):]
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
