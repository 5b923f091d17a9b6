package framework

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/onsi/ginkgo/v2"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// Object is what a Tracker follows: an API object with metadata.
type Object interface {
	runtime.Object
	metav1.Object
}

// Tracker keeps the current set of objects of one kind: a list, then a
// watch from the list's resourceVersion, so that no change is missed and
// each one is seen when it happens (timings come from events, not polls).
type Tracker[T Object] struct {
	what string
	w    watch.Interface
	objs map[string]T
	// last names the event last applied, for failure messages.
	last string
}

// Follow starts a Tracker; a RetryWatcher resumes the watch where it left
// off if the API server closes it. The watch stops when the spec ends.
func Follow[T Object, L metav1.ListInterface](ctx context.Context, what string, api interface {
	List(context.Context, metav1.ListOptions) (L, error)
	Watch(context.Context, metav1.ListOptions) (watch.Interface, error)
}, opts metav1.ListOptions, items func(L) []T) *Tracker[T] {
	ginkgo.GinkgoHelper()
	list, err := api.List(ctx, opts)
	if err != nil {
		Failf("list %s: %v", what, err)
	}
	lw := &cache.ListWatch{WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
		o.LabelSelector, o.FieldSelector = opts.LabelSelector, opts.FieldSelector
		return api.Watch(ctx, o)
	}}
	w, err := watchtools.NewRetryWatcherWithContext(ctx, list.GetResourceVersion(), lw)
	if err != nil {
		Failf("watch %s: %v", what, err)
	}
	ginkgo.DeferCleanup(w.Stop)
	t := &Tracker[T]{what: what, w: w, objs: map[string]T{}, last: "initial list"}
	for _, o := range items(list) {
		t.objs[o.GetName()] = o
	}
	return t
}

// Until applies events until cond holds and returns when that was seen.
// cond is called once at once and then after every event, with the time
// the event arrived, so it may also check an invariant at every step. The
// error is one line, to go inside a failure message.
func (t *Tracker[T]) Until(ctx context.Context, timeout time.Duration, cond func(at time.Time) bool) (time.Time, error) {
	if now := time.Now(); cond(now) {
		return now, nil
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("watch of %s: cut short: %s", t.what, oneLine(context.Cause(ctx).Error()))
		case <-timer.C:
			return time.Time{}, fmt.Errorf("watch of %s: timed out after %s", t.what, timeout)
		case ev, open := <-t.w.ResultChan():
			if !open {
				return time.Time{}, fmt.Errorf("watch of %s ended", t.what)
			}
			at := time.Now()
			switch ev.Type {
			case watch.Bookmark:
				continue
			case watch.Error:
				return time.Time{}, fmt.Errorf("watch of %s: %s", t.what, oneLine(apierrors.FromObject(ev.Object).Error()))
			}
			obj, ok := ev.Object.(T)
			if !ok {
				return time.Time{}, fmt.Errorf("watch of %s: unexpected %s event with a %T", t.what, ev.Type, ev.Object)
			}
			if ev.Type == watch.Deleted {
				delete(t.objs, obj.GetName())
			} else {
				t.objs[obj.GetName()] = obj
			}
			t.last = fmt.Sprintf("%s %s", ev.Type, obj.GetName())
			if cond(at) {
				return at, nil
			}
		}
	}
}

// Objects returns the current objects sorted by name.
func (t *Tracker[T]) Objects() []T {
	out := make([]T, 0, len(t.objs))
	for _, o := range t.objs {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return out
}

// Get returns the current object of that name, or the zero T (nil) when
// there is none.
func (t *Tracker[T]) Get(name string) T { return t.objs[name] }

// Last names the event last applied ("MODIFIED web-abc"), for failure
// messages.
func (t *Tracker[T]) Last() string { return t.last }

// Ptrs points at each item of a list's Items.
func Ptrs[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}

// Names lists the objects' names, in their order.
func Names[T metav1.Object](objs []T) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.GetName())
	}
	return out
}

// WatchPods tracks the spec's pods that match selector ("" for all).
func WatchPods(ctx context.Context, f *Framework, selector string) *Tracker[*corev1.Pod] {
	ginkgo.GinkgoHelper()
	return Follow(ctx, "pods "+selector, f.Client.CoreV1().Pods(f.Namespace), metav1.ListOptions{LabelSelector: selector},
		func(l *corev1.PodList) []*corev1.Pod { return Ptrs(l.Items) })
}

// WatchReplicaSets tracks the spec's ReplicaSets that match selector.
func WatchReplicaSets(ctx context.Context, f *Framework, selector string) *Tracker[*appsv1.ReplicaSet] {
	ginkgo.GinkgoHelper()
	return Follow(ctx, "ReplicaSets "+selector, f.Client.AppsV1().ReplicaSets(f.Namespace), metav1.ListOptions{LabelSelector: selector},
		func(l *appsv1.ReplicaSetList) []*appsv1.ReplicaSet { return Ptrs(l.Items) })
}

// WatchDeployment tracks one Deployment of the spec.
func WatchDeployment(ctx context.Context, f *Framework, name string) *Tracker[*appsv1.Deployment] {
	ginkgo.GinkgoHelper()
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	return Follow(ctx, "Deployment "+name, f.Client.AppsV1().Deployments(f.Namespace), metav1.ListOptions{FieldSelector: sel},
		func(l *appsv1.DeploymentList) []*appsv1.Deployment { return Ptrs(l.Items) })
}

// WatchSlices tracks the EndpointSlices of one Service.
func WatchSlices(ctx context.Context, f *Framework, svc *corev1.Service) *Tracker[*discoveryv1.EndpointSlice] {
	ginkgo.GinkgoHelper()
	sel := discoveryv1.LabelServiceName + "=" + svc.Name
	return Follow(ctx, "EndpointSlices of Service "+svc.Name, f.Client.DiscoveryV1().EndpointSlices(svc.Namespace), metav1.ListOptions{LabelSelector: sel},
		func(l *discoveryv1.EndpointSliceList) []*discoveryv1.EndpointSlice { return Ptrs(l.Items) })
}
