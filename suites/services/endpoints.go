package services

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kubeproof/kubeproof/suites/framework"
)

func endpointsFollowReadiness(ctx context.Context, f *framework.Framework) {
	backends, client := startBackends(ctx, f, 2, nil)
	flipped, steady := backends[0], backends[1]
	svc := framework.Create(ctx, f, f.Services(), service("web"))
	url := clusterIPURL(svc)
	waitHTTP(ctx, f, client, describe(svc), url, podNames(backends))
	// Watching from before the flip times the change as the API shows it.
	eps := watchSlices(ctx, f, svc)

	off := setReady(ctx, f, client, flipped, false)
	seen, ok := eps.until(ctx, programTimeout, endpointIs(flipped.Name, false))
	if !ok {
		framework.Failf("EndpointSlices of %s: want pod %s not ready within %s of its readiness turning off, got %s", describe(svc), flipped.Name, programTimeout, eps)
	}
	framework.Measure("endpoint removal after unready", seen.Sub(off).Seconds(), "s")

	// kube-proxy applies the slice change a moment after the API shows
	// it, so the 20 requests may be tried again; with two backends a
	// lingering rule would show in any 20 with near certainty.
	const n = 20
	var got tally
	if !eventually(ctx, programTimeout, poll, func() bool {
		got = send(ctx, f, client, url, n)
		return got[steady.Name] == n
	}) {
		framework.Failf("%s after pod %s turned unready, from pod %s: want %d requests in a row all answered by %s within %s, last %d got %s", describe(svc), flipped.Name, client.Name, n, steady.Name, programTimeout, n, got)
	}

	on := setReady(ctx, f, client, flipped, true)
	seen, ok = eps.until(ctx, programTimeout, endpointIs(flipped.Name, true))
	if !ok {
		framework.Failf("EndpointSlices of %s: want pod %s ready again within %s of its readiness turning on, got %s", describe(svc), flipped.Name, programTimeout, eps)
	}
	framework.Measure("endpoint return after ready", seen.Sub(on).Seconds(), "s")
}

// sliceWatch follows the EndpointSlices of one Service: a list, then a
// watch from the list's resourceVersion, so no change is missed.
type sliceWatch struct {
	w      watch.Interface
	slices map[string]*discoveryv1.EndpointSlice
}

func watchSlices(ctx context.Context, f *framework.Framework, svc *corev1.Service) *sliceWatch {
	ginkgo.GinkgoHelper()
	api := f.Client.DiscoveryV1().EndpointSlices(svc.Namespace)
	opts := metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc.Name}
	list, err := api.List(ctx, opts)
	if err != nil {
		framework.Failf("list EndpointSlices of Service %s/%s: %v", svc.Namespace, svc.Name, err)
	}
	opts.ResourceVersion = list.ResourceVersion
	w, err := api.Watch(ctx, opts)
	if err != nil {
		framework.Failf("watch EndpointSlices of Service %s/%s: %v", svc.Namespace, svc.Name, err)
	}
	ginkgo.DeferCleanup(w.Stop)
	s := &sliceWatch{w: w, slices: map[string]*discoveryv1.EndpointSlice{}}
	for i := range list.Items {
		s.slices[list.Items[i].Name] = &list.Items[i]
	}
	return s
}

// until applies watch events until cond holds over the current slices,
// and returns when that was seen; false on timeout or a broken watch.
func (s *sliceWatch) until(ctx context.Context, timeout time.Duration, cond func([]discoveryv1.Endpoint) bool) (time.Time, bool) {
	if cond(s.endpoints()) {
		return time.Now(), true
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return time.Time{}, false
		case <-timer.C:
			return time.Time{}, false
		case ev, open := <-s.w.ResultChan():
			if !open {
				fmt.Fprintln(ginkgo.GinkgoWriter, "EndpointSlice watch closed by the server")
				return time.Time{}, false
			}
			slice, isSlice := ev.Object.(*discoveryv1.EndpointSlice)
			switch {
			case !isSlice:
				fmt.Fprintf(ginkgo.GinkgoWriter, "EndpointSlice watch: %s event %T\n", ev.Type, ev.Object)
				return time.Time{}, false
			case ev.Type == watch.Deleted:
				delete(s.slices, slice.Name)
			default:
				s.slices[slice.Name] = slice
			}
			if cond(s.endpoints()) {
				return time.Now(), true
			}
		}
	}
}

func (s *sliceWatch) endpoints() []discoveryv1.Endpoint {
	var out []discoveryv1.Endpoint
	for _, sl := range s.slices {
		out = append(out, sl.Endpoints...)
	}
	return out
}

// String prints the endpoints last seen: "backend-0 ready=false, backend-1 ready=true".
func (s *sliceWatch) String() string {
	var parts []string
	for _, e := range s.endpoints() {
		parts = append(parts, fmt.Sprintf("%s ready=%t", endpointName(e), endpointReady(e)))
	}
	if len(parts) == 0 {
		return "no endpoints"
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// endpointIs holds when the pod has an endpoint in the given readiness.
func endpointIs(pod string, ready bool) func([]discoveryv1.Endpoint) bool {
	return func(eps []discoveryv1.Endpoint) bool {
		for _, e := range eps {
			if endpointName(e) == pod && endpointReady(e) == ready {
				return true
			}
		}
		return false
	}
}

func endpointName(e discoveryv1.Endpoint) string {
	if e.TargetRef != nil {
		return e.TargetRef.Name
	}
	return strings.Join(e.Addresses, ",")
}

// endpointReady reads the ready condition; the API says nil means ready.
func endpointReady(e discoveryv1.Endpoint) bool {
	return e.Conditions.Ready == nil || *e.Conditions.Ready
}
