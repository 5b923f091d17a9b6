package services

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeproof/kubeproof/fixtures/wire"
	"github.com/kubeproof/kubeproof/suites/framework"
)

func headlessResolvesReadyPods(ctx context.Context, f *framework.Framework) {
	// Three backends, one made unready, so "exactly the ready ones" is
	// a real distinction, not the set of all matching pods.
	// The Service after the pods are Ready: its endpoints start ready, so
	// the one made unready below is unready because of the flip.
	backends, clients := startBackendsAndClients(ctx, f, 3)
	client := clients[0]
	ready, unready := backends[:2], backends[2]
	s := service("headless")
	s.Spec.ClusterIP = corev1.ClusterIPNone
	svc := framework.Create(ctx, f, f.Services(), s)
	eps := framework.WatchSlices(ctx, f, svc)
	setReady(ctx, f, client, unready, false)
	// DNS follows the EndpointSlices; waiting for them first keeps a slow
	// slice update from being reported as a DNS fault.
	if _, err := eps.Until(ctx, framework.ProgramTimeout, func(time.Time) bool { return endpointIs(eps, unready.Name, false) }); err != nil {
		framework.Failf("EndpointSlices of headless Service %s/%s: want %s (readiness turned off) not ready within %s, got %s (%v)", svc.Namespace, svc.Name, framework.DescribeTarget(unready), framework.ProgramTimeout, endpointStates(eps), err)
	}
	// By namespace too: the clients are the shared ones, in theirs.
	f.ExpectResolves(ctx, clients, svc.Name+"."+svc.Namespace, podIPs(ready),
		fmt.Sprintf("exactly the ready pods %s of headless Service %s/%s, not unready %s", framework.PodsOnNodes(ready), svc.Namespace, svc.Name, framework.DescribeTarget(unready)), dnsTimeout)
	for _, p := range ready {
		expectHTTP(ctx, f, client, fmt.Sprintf("ready pod of headless Service %s/%s by its IP", svc.Namespace, svc.Name),
			framework.PodURL(p, "/hostname"), []*corev1.Pod{p})
	}
}

func externalName(ctx context.Context, f *framework.Framework) {
	// In the shared pods' namespace: the alias is looked up by its short
	// name, through the clients' search path.
	p := f.Peers(ctx, 1)
	target := framework.Create(ctx, f, p.Services(f), peerService("target"))
	// An in-cluster FQDN: the machine has no route to the internet, and
	// the alias must be judged by what the cluster's DNS does with it.
	fqdn := fmt.Sprintf("%s.%s.svc.%s", target.Name, target.Namespace, clusterDomain)
	alias := framework.Create(ctx, f, p.Services(f), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "alias-"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: fqdn},
	})
	backends, clients := p.Servers, p.Clients
	f.ExpectResolves(ctx, clients, alias.Name, []string{target.Spec.ClusterIP},
		fmt.Sprintf("the ClusterIP of target %s, through ExternalName Service %s/%s -> %s", framework.DescribeService(target), alias.Namespace, alias.Name, fqdn), dnsTimeout)
	url := framework.HostURL(alias.Name, wire.HTTPPort, "/hostname")
	failed := framework.FromEach(ctx, clients, func(ctx context.Context, from *corev1.Pod) (bool, string) {
		r, ok := pollHTTP(ctx, f, from, url, backends, framework.ProgramTimeout)
		return ok, r.String()
	})
	if len(failed) > 0 {
		framework.Failf("ExternalName Service %s/%s (-> %s) at %s: want HTTP 200 from one of %s from a client on every one of %d schedulable nodes within %s%s, failed from %d: %s",
			alias.Namespace, alias.Name, fqdn, url, framework.PodsOnNodes(backends), len(clients), framework.ProgramTimeout, framework.CutShort(ctx), len(failed), strings.Join(failed, "; "))
	}
}

func podIPs(pods []*corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Status.PodIP)
	}
	return out
}
