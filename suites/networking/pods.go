package networking

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeproof/kubeproof/fixtures/wire"
	"github.com/kubeproof/kubeproof/suites/contract"
	"github.com/kubeproof/kubeproof/suites/framework"
)

var _ = framework.Describe("pod networking", contract.AreaNetworking, func() {
	f := framework.New("networking")

	framework.Check("pod-to-pod on the same node over HTTP and UDP",
		"Two pods on the same node MUST reach each other by pod IP over TCP (HTTP) and UDP.",
		contract.ProfileQuick, contract.ProfileCore,
		func(ctx ginkgo.SpecContext) {
			p := f.Peers(ctx, 1)
			var failures []string
			for i := range p.Nodes {
				failures = append(failures, exchange(ctx, f, p.Clients[i], p.Servers[i])...)
			}
			if len(failures) > 0 {
				framework.Failf("same-node pod traffic failed for %d of %d checks: %s", len(failures), 2*len(p.Nodes), strings.Join(failures, "; "))
			}
		})

	framework.Check("pod-to-pod across every pair of nodes over HTTP and UDP",
		"A pod on any node MUST reach a pod on every other node by pod IP over TCP (HTTP) and UDP, in both directions.",
		contract.ProfileQuick, contract.ProfileCore, contract.CrossNode,
		func(ctx ginkgo.SpecContext) {
			// A client on each node to the server on every other node:
			// every ordered pair of nodes, so both directions.
			p := f.Peers(ctx, 2)
			var failures, latencies []string
			var total float64
			checks := 0
			for i, from := range p.Clients {
				for j, to := range p.Servers {
					if i == j {
						continue
					}
					checks += 2
					failures = append(failures, exchange(ctx, f, from, to)...)
					r := f.HTTPGet(ctx, from, framework.PodURL(to, "/hostname"), framework.RequestTimeout)
					if r.OK {
						total += r.LatencyMS
						latencies = append(latencies, fmt.Sprintf("%.1f", r.LatencyMS))
					}
				}
			}
			if len(latencies) > 0 {
				framework.Measure("cross-node HTTP request latency (mean)", total/float64(len(latencies)), "ms")
			}
			if len(failures) > 0 {
				framework.Failf("cross-node pod traffic failed for %d of %d checks: %s", len(failures), checks, strings.Join(failures, "; "))
			}
		})

	framework.Check("node-to-pod and pod-to-node",
		"A process in a node's network namespace MUST reach pods on every node, and a pod MUST reach every node's InternalIP.",
		contract.ProfileCore, contract.CrossNode, contract.NeedsHostNetwork,
		func(ctx ginkgo.SpecContext) {
			// The pods are the shared ones; the host-network pods are this
			// check's own.
			p := f.Peers(ctx, 2)
			var servers []framework.Server
			for i, n := range p.Nodes {
				servers = append(servers, framework.Server{Name: fmt.Sprintf("host-%d", i), Node: n.Name, HostNetwork: true})
			}
			hosts := f.StartPrivilegedServers(ctx, "host-network", servers...)
			var failures []string
			checks := 0
			for i, host := range hosts {
				for j, target := range hosts {
					pod := p.Servers[j]
					checks += 2
					// node -> pod: from the node's network namespace to a pod.
					if r := f.HTTPGet(ctx, host, framework.PodURL(pod, "/hostname"), framework.RequestTimeout); !r.OK || r.Body != pod.Name {
						failures = append(failures, fmt.Sprintf("from node %s (host-network pod %s) to %s: %s", host.Spec.NodeName, host.Name, framework.DescribeTarget(pod), r))
					}
					// pod -> node: to the node's own address, served on the host network.
					from := p.Clients[i]
					if r := f.HTTPGet(ctx, from, framework.HostURL(target.Status.HostIP, wire.HTTPPort+1000, "/hostname"), framework.RequestTimeout); !r.OK || r.Body != target.Name {
						failures = append(failures, fmt.Sprintf("from %s to node %s %s (host-network pod %s): %s", framework.DescribePod(from), target.Spec.NodeName, target.Status.HostIP, target.Name, r))
					}
				}
			}
			if len(failures) > 0 {
				framework.Failf("node/pod traffic failed for %d of %d checks: %s", len(failures), checks, strings.Join(failures, "; "))
			}
		})

	framework.Check("a large payload crosses nodes intact",
		"A 4 MiB HTTP response MUST cross from a pod on one node to a pod on another complete (no MTU or fragmentation loss).",
		contract.ProfileCore, contract.CrossNode,
		func(ctx ginkgo.SpecContext) {
			p := f.Peers(ctx, 2)
			sender, receiver := p.Servers[0], p.Clients[1]
			const size = 4 << 20
			url := framework.PodURL(sender, fmt.Sprintf("/bytes?n=%d", size))
			r := f.HTTPGet(ctx, receiver, url, 20*time.Second)
			if !r.OK || r.Bytes != size {
				framework.Failf("GET %s from %s to %s: want %d bytes, got %d (%s)", url, framework.DescribePod(receiver), framework.DescribeTarget(sender), size, r.Bytes, r)
			}
			framework.Measure("4 MiB cross-node transfer throughput", size/(1<<20)/(r.LatencyMS/1000), "MiB/s")
		})

	framework.Check("pod IPs are unique and inside their node's PodCIDR",
		"Every running pod that is not on the host network MUST have an IP no other pod has, inside its node's PodCIDR.",
		contract.ProfileQuick, contract.ProfileCore,
		func(ctx ginkgo.SpecContext) {
			// The shared pods make sure there is something on every node.
			f.Peers(ctx, 1)
			nodes, err := f.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			if err != nil {
				framework.Failf("list nodes: %v", err)
			}
			cidrs := map[string][]*net.IPNet{}
			for _, n := range nodes.Items {
				for _, c := range n.Spec.PodCIDRs {
					if _, ipnet, err := net.ParseCIDR(c); err == nil {
						cidrs[n.Name] = append(cidrs[n.Name], ipnet)
					}
				}
			}
			pods, err := f.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
			if err != nil {
				framework.Failf("list pods: %v", err)
			}
			owner := map[string]string{}
			var failures []string
			checked := 0
			for _, p := range pods.Items {
				if p.Spec.HostNetwork || p.Status.PodIP == "" || p.Status.Phase != corev1.PodRunning {
					continue
				}
				checked++
				id := fmt.Sprintf("%s/%s (node %s)", p.Namespace, p.Name, p.Spec.NodeName)
				if other, dup := owner[p.Status.PodIP]; dup {
					failures = append(failures, fmt.Sprintf("pods %s and %s share IP %s", other, id, p.Status.PodIP))
				}
				owner[p.Status.PodIP] = id
				if !inAny(net.ParseIP(p.Status.PodIP), cidrs[p.Spec.NodeName]) {
					failures = append(failures, fmt.Sprintf("pod %s has IP %s outside its node's PodCIDRs %v", id, p.Status.PodIP, cidrs[p.Spec.NodeName]))
				}
			}
			framework.Measure("pods checked", float64(checked), "pods")
			if len(failures) > 0 {
				framework.Failf("%d pod addressing problems: %s", len(failures), strings.Join(failures, "; "))
			}
		})
})

// exchange sends HTTP and UDP from one pod to another and returns one line
// per failure, naming both pods and their nodes.
func exchange(ctx ginkgo.SpecContext, f *framework.Framework, from, to *corev1.Pod) []string {
	ginkgo.GinkgoHelper()
	var failures []string
	where := fmt.Sprintf("from %s to %s", framework.DescribePod(from), framework.DescribeTarget(to))
	if r := f.HTTPGet(ctx, from, framework.PodURL(to, "/hostname"), framework.RequestTimeout); !r.OK || r.Body != to.Name {
		failures = append(failures, fmt.Sprintf("%s HTTP: want %q, got %s", where, to.Name, r))
	}
	addr := net.JoinHostPort(to.Status.PodIP, fmt.Sprint(wire.UDPPort))
	if r := f.UDP(ctx, from, addr, "ping", framework.RequestTimeout); !r.OK || r.Body != to.Name+" ping" {
		failures = append(failures, fmt.Sprintf("%s UDP: want %q, got %s", where, to.Name+" ping", r))
	}
	return failures
}

func inAny(ip net.IP, nets []*net.IPNet) bool {
	for _, n := range nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}
