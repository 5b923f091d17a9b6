package services

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeproof/kubeproof/suites/framework"
)

func nodePortOnEveryNode(ctx context.Context, f *framework.Framework) {
	p := f.Peers(ctx, 1)
	nodes := p.Nodes
	s := peerService("nodeport")
	s.Spec.Type = corev1.ServiceTypeNodePort
	svc := framework.Create(ctx, f, p.Services(f), s)
	backends, client := p.Servers, p.Clients[0]
	port := svc.Spec.Ports[0].NodePort
	// Each node's kube-proxy programs the port on its own, so each node
	// gets the full wait; all nodes are tried so that one line names
	// every node that fails.
	var failed []string
	for _, n := range nodes {
		ip := framework.InternalIP(&n)
		if r, ok := pollHTTP(ctx, f, client, framework.HostURL(ip, port, "/hostname"), backends, framework.ProgramTimeout); !ok {
			failed = append(failed, fmt.Sprintf("node %s (%s): %s", n.Name, ip, r))
		}
	}
	if len(failed) > 0 {
		framework.Failf("NodePort %d of Service %s/%s from %s: want HTTP 200 from one of %s on all %d schedulable nodes within %s%s, failed on %s",
			port, svc.Namespace, svc.Name, framework.DescribePod(client), framework.PodsOnNodes(backends), len(nodes), framework.ProgramTimeout, framework.CutShort(ctx), strings.Join(failed, "; "))
	}
}
