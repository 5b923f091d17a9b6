package services

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeproof/kubeproof/fixtures/wire"
	"github.com/kubeproof/kubeproof/suites/framework"
)

func headlessResolvesReadyPods(ctx context.Context, f *framework.Framework) {
	// Three backends, one made unready, so "exactly the ready ones" is
	// a real distinction, not the set of all matching pods.
	backends, client := startBackends(ctx, f, 3, nil)
	ready, unready := backends[:2], backends[2]
	s := service("headless")
	s.Spec.ClusterIP = corev1.ClusterIPNone
	svc := framework.Create(ctx, f, f.Services(), s)
	eps := watchSlices(ctx, f, svc)
	setReady(ctx, f, client, unready, false)
	// DNS follows the EndpointSlices; waiting for them first keeps a slow
	// slice update from being reported as a DNS fault.
	if _, ok := eps.until(ctx, programTimeout, endpointIs(unready.Name, false)); !ok {
		framework.Failf("EndpointSlices of headless Service %s/%s: want pod %s (readiness turned off) not ready within %s, got %s", svc.Namespace, svc.Name, unready.Name, programTimeout, eps)
	}
	want := podIPs(ready)
	var last wire.Result
	if !eventually(ctx, dnsTimeout, poll, func() bool {
		last = f.Resolve(ctx, client, svc.Name)
		return last.OK && sameSet(last.Addresses, want)
	}) {
		framework.Failf("DNS name %s of headless Service %s/%s from pod %s: want exactly the ready pods' IPs %v (not unready %s's %s) within %s, got %s",
			svc.Name, svc.Namespace, svc.Name, client.Name, want, unready.Name, unready.Status.PodIP, dnsTimeout, last)
	}
	for _, p := range ready {
		expectHTTP(ctx, f, client, fmt.Sprintf("pod %s from DNS of headless Service %s/%s", p.Name, svc.Namespace, svc.Name),
			hostURL(p.Status.PodIP, wire.HTTPPort, "/hostname"), []string{p.Name})
	}
}

func externalName(ctx context.Context, f *framework.Framework) {
	backends, client := startBackends(ctx, f, 2, nil)
	target := framework.Create(ctx, f, f.Services(), service("target"))
	// An in-cluster FQDN: the machine has no route to the internet, and
	// the alias must be judged by what the cluster's DNS does with it.
	fqdn := fmt.Sprintf("%s.%s.svc.%s", target.Name, target.Namespace, clusterDomain)
	alias := framework.Create(ctx, f, f.Services(), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "alias"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: fqdn},
	})
	var last wire.Result
	if !eventually(ctx, dnsTimeout, poll, func() bool {
		last = f.Resolve(ctx, client, alias.Name)
		return last.OK && sameSet(last.Addresses, []string{target.Spec.ClusterIP})
	}) {
		framework.Failf("DNS name %s of ExternalName Service %s/%s (-> %s) from pod %s: want the target's ClusterIP %s within %s, got %s",
			alias.Name, alias.Namespace, alias.Name, fqdn, client.Name, target.Spec.ClusterIP, dnsTimeout, last)
	}
	waitHTTP(ctx, f, client, fmt.Sprintf("ExternalName Service %s/%s (-> %s)", alias.Namespace, alias.Name, fqdn),
		hostURL(alias.Name, wire.HTTPPort, "/hostname"), podNames(backends))
}

func podIPs(pods []*corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Status.PodIP)
	}
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
