package networking

import (
	"context"
	"fmt"
	"slices"
	"strings"
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
		"A ClusterIP Service's name <service>.<namespace>.svc.cluster.local MUST resolve to its ClusterIP.",
		contract.ProfileQuick, contract.ProfileCore,
		func(ctx ginkgo.SpecContext) {
			pods := f.StartServers(ctx, framework.Server{Name: "client", Labels: map[string]string{"app": "web"}})
			svc := framework.Create(ctx, f, f.Services(), service("web", false))
			name := fmt.Sprintf("web.%s.svc.cluster.local", f.Namespace)
			expectResolves(ctx, f, pods[0], name, []string{svc.Spec.ClusterIP})
		})

	framework.Check("headless Service records",
		"A headless Service's name MUST resolve to the IPs of its ready pods, and only those.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) {
			pods := f.StartServers(ctx,
				framework.Server{Name: "web-0", Labels: map[string]string{"app": "web"}},
				framework.Server{Name: "web-1", Labels: map[string]string{"app": "web"}},
				framework.Server{Name: "client"})
			framework.Create(ctx, f, f.Services(), service("web", true))
			name := fmt.Sprintf("web.%s.svc.cluster.local", f.Namespace)
			expectResolves(ctx, f, pods[2], name, []string{pods[0].Status.PodIP, pods[1].Status.PodIP})
		})

	framework.Check("pod hostname and subdomain records",
		"A pod with hostname H and subdomain S under a headless Service S MUST resolve as H.S.<namespace>.svc.cluster.local to its IP.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) {
			pods := f.StartServers(ctx,
				framework.Server{Name: "db", Hostname: "db-0", Subdomain: "members", Labels: map[string]string{"app": "members"}},
				framework.Server{Name: "client"})
			framework.Create(ctx, f, f.Services(), service("members", true))
			name := fmt.Sprintf("db-0.members.%s.svc.cluster.local", f.Namespace)
			expectResolves(ctx, f, pods[1], name, []string{pods[0].Status.PodIP})
		})

	framework.Check("partial names through search paths",
		"From a pod, the short names <service> and <service>.<namespace> MUST resolve through the search path to the Service's ClusterIP.",
		contract.ProfileCore,
		func(ctx ginkgo.SpecContext) {
			pods := f.StartServers(ctx, framework.Server{Name: "client", Labels: map[string]string{"app": "web"}})
			svc := framework.Create(ctx, f, f.Services(), service("web", false))
			for _, name := range []string{"web", "web." + f.Namespace, "web." + f.Namespace + ".svc"} {
				expectResolves(ctx, f, pods[0], name, []string{svc.Spec.ClusterIP})
			}
		})
})

// expectResolves waits until name resolves, from pod, to exactly want.
func expectResolves(ctx ginkgo.SpecContext, f *framework.Framework, from *corev1.Pod, name string, want []string) {
	ginkgo.GinkgoHelper()
	slices.Sort(want)
	framework.WaitFor(ctx, dnsTimeout, time.Second, fmt.Sprintf("%s from pod %s on %s", name, from.Name, from.Spec.NodeName), strings.Join(want, ","),
		func(ctx context.Context) (bool, string) {
			r := f.Resolve(ctx, from, name)
			got := slices.Clone(r.Addresses)
			slices.Sort(got)
			return r.OK && slices.Equal(got, want), r.String()
		})
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
