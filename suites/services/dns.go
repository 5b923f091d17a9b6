package services

import (
	"context"
	"fmt"
	"slices"
	"time"

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
	eps := framework.WatchSlices(ctx, f, svc)
	setReady(ctx, f, client, unready, false)
	// DNS follows the EndpointSlices; waiting for them first keeps a slow
	// slice update from being reported as a DNS fault.
	if _, err := eps.Until(ctx, framework.ProgramTimeout, func(time.Time) bool { return endpointIs(eps, unready.Name, false) }); err != nil {
		framework.Failf("EndpointSlices of headless Service %s/%s: want pod %s (readiness turned off) not ready within %s, got %s (%v)", svc.Namespace, svc.Name, unready.Name, framework.ProgramTimeout, endpointStates(eps), err)
	}
	want := podIPs(ready)
	framework.WaitFor(ctx, dnsTimeout, poll,
		fmt.Sprintf("DNS name %s of headless Service %s/%s from pod %s", svc.Name, svc.Namespace, svc.Name, client.Name),
		fmt.Sprintf("exactly the ready pods' IPs %v (not unready %s's %s)", want, unready.Name, unready.Status.PodIP),
		func(ctx context.Context) (bool, string) {
			r := f.Resolve(ctx, client, svc.Name)
			return r.OK && sameSet(r.Addresses, want), r.String()
		})
	for _, p := range ready {
		expectHTTP(ctx, f, client, fmt.Sprintf("pod %s from DNS of headless Service %s/%s", p.Name, svc.Namespace, svc.Name),
			framework.PodURL(p, "/hostname"), []string{p.Name})
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
	framework.WaitFor(ctx, dnsTimeout, poll,
		fmt.Sprintf("DNS name %s of ExternalName Service %s/%s (-> %s) from pod %s", alias.Name, alias.Namespace, alias.Name, fqdn, client.Name),
		"the target's ClusterIP "+target.Spec.ClusterIP,
		func(ctx context.Context) (bool, string) {
			r := f.Resolve(ctx, client, alias.Name)
			return r.OK && sameSet(r.Addresses, []string{target.Spec.ClusterIP}), r.String()
		})
	waitHTTP(ctx, f, client, fmt.Sprintf("ExternalName Service %s/%s (-> %s)", alias.Namespace, alias.Name, fqdn),
		framework.HostURL(alias.Name, wire.HTTPPort, "/hostname"), framework.Names(backends))
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
