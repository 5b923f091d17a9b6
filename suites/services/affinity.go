package services

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeproof/kubeproof/suites/framework"
)

func sessionAffinity(ctx context.Context, f *framework.Framework) {
	// The shared servers, one on each of at least 2 nodes, as backends.
	p := f.Peers(ctx, 2)
	s := peerService("sticky")
	s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
	sticky := framework.Create(ctx, f, p.Services(f), s)
	// The same backends without affinity: the control that shows the
	// requests would spread if affinity did not hold them.
	spread := framework.Create(ctx, f, p.Services(f), peerService("spread"))
	backends, client := p.Servers, p.Clients[0]
	want := framework.Names(backends)
	waitHTTP(ctx, f, client, framework.DescribeService(sticky), framework.ServiceURL(sticky, "/hostname"), backends)
	waitHTTP(ctx, f, client, framework.DescribeService(spread), framework.ServiceURL(spread, "/hostname"), backends)

	const stickyN, spreadN = 20, 30
	got := send(ctx, f, client, framework.ServiceURL(sticky, "/hostname"), stickyN)
	if len(got) != 1 || len(got.backends(want)) != 1 {
		framework.Failf("%s with ClientIP affinity over %s, from %s: want all %d requests answered by one backend, got %s", framework.DescribeService(sticky), framework.PodsOnNodes(backends), framework.DescribePod(client), stickyN, got)
	}
	got = send(ctx, f, client, framework.ServiceURL(spread, "/hostname"), spreadN)
	if seen := got.backends(want); len(seen) < 2 || len(seen) != len(got) {
		framework.Failf("%s without affinity over %s, from %s: want %d requests all answered, by more than one backend, got %s (if one backend only: load balancing did not spread, so the affinity result proves nothing)", framework.DescribeService(spread), framework.PodsOnNodes(backends), framework.DescribePod(client), spreadN, got)
	}
}
