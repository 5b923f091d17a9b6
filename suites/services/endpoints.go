package services

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/kubeproof/kubeproof/suites/framework"
)

func endpointsFollowReadiness(ctx context.Context, f *framework.Framework) {
	svc := framework.Create(ctx, f, f.Services(), service("web"))
	backends, client := startBackends(ctx, f, 2)
	flipped, steady := backends[0], backends[1]
	url := framework.ServiceURL(svc, "/hostname")
	waitHTTP(ctx, f, client, framework.DescribeService(svc), url, backends)
	// Watching from before the flip times the change as the API shows it.
	eps := framework.WatchSlices(ctx, f, svc)

	off := setReady(ctx, f, client, flipped, false)
	seen, err := eps.Until(ctx, framework.ProgramTimeout, func(time.Time) bool { return endpointIs(eps, flipped.Name, false) })
	if err != nil {
		framework.Failf("EndpointSlices of %s: want %s not ready within %s of its readiness turning off, got %s (%v)", framework.DescribeService(svc), framework.DescribeTarget(flipped), framework.ProgramTimeout, endpointStates(eps), err)
	}
	framework.Measure("endpoint removal after unready", seen.Sub(off).Seconds(), "s")

	// kube-proxy applies the slice change a moment after the API shows
	// it, so the 20 requests may be tried again; with two backends a
	// lingering rule would show in any 20 with near certainty.
	const n = 20
	var got tally
	if !framework.Poll(ctx, framework.ProgramTimeout, poll, func(ctx context.Context) bool {
		got = send(ctx, f, client, url, n)
		return got[steady.Name] == n
	}) {
		framework.Failf("%s after %s turned unready, from %s: want %d requests in a row all answered by %s within %s%s, last %d got %s", framework.DescribeService(svc), framework.DescribeTarget(flipped), framework.DescribePod(client), n, framework.DescribeTarget(steady), framework.ProgramTimeout, framework.CutShort(ctx), n, got)
	}

	on := setReady(ctx, f, client, flipped, true)
	seen, err = eps.Until(ctx, framework.ProgramTimeout, func(time.Time) bool { return endpointIs(eps, flipped.Name, true) })
	if err != nil {
		framework.Failf("EndpointSlices of %s: want %s ready again within %s of its readiness turning on, got %s (%v)", framework.DescribeService(svc), framework.DescribeTarget(flipped), framework.ProgramTimeout, endpointStates(eps), err)
	}
	framework.Measure("endpoint return after ready", seen.Sub(on).Seconds(), "s")
}

// endpoints are the endpoints of all the slices the tracker holds.
func endpoints(eps *framework.Tracker[*discoveryv1.EndpointSlice]) []discoveryv1.Endpoint {
	var out []discoveryv1.Endpoint
	for _, sl := range eps.Objects() {
		out = append(out, sl.Endpoints...)
	}
	return out
}

// endpointIs holds when the pod has an endpoint in the given readiness.
func endpointIs(eps *framework.Tracker[*discoveryv1.EndpointSlice], pod string, ready bool) bool {
	for _, e := range endpoints(eps) {
		if framework.EndpointName(e) == pod && framework.EndpointReady(e) == ready {
			return true
		}
	}
	return false
}

// endpointStates prints the endpoints last seen: "backend-0 ready=false, backend-1 ready=true".
func endpointStates(eps *framework.Tracker[*discoveryv1.EndpointSlice]) string {
	var parts []string
	for _, e := range endpoints(eps) {
		parts = append(parts, fmt.Sprintf("%s ready=%t", framework.EndpointName(e), framework.EndpointReady(e)))
	}
	if len(parts) == 0 {
		return "no endpoints"
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}
