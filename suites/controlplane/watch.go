package controlplane

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kubeproof/kubeproof/suites/framework"
)

// burst is how many ConfigMaps the watch check writes; each is created,
// updated and deleted: three events apiece.
const burst = 10

// eventTimeout bounds the wait for one event: the API server sends an
// event within milliseconds of the write, a second on a loaded machine.
const eventTimeout = 30 * time.Second

// change is one event as the check compares them: by what happened to
// which object and what it held, never by resourceVersion (opaque).
type change struct {
	typ  watch.EventType
	name string
	step string
}

func (c change) String() string { return fmt.Sprintf("%s %s (step %s)", c.typ, c.name, c.step) }

// seen is one event read, when it arrived, and its object's
// resourceVersion (to resume from, never to compare).
type seen struct {
	change
	at time.Time
	rv string
}

// watchResumes writes a burst of changes while a watch is open, reads half
// of them, cuts the watch, writes the rest with no watch open, and resumes
// from the last event read: the two watches together must show every
// change once, in the order written.
func watchResumes(ctx context.Context, f *framework.Framework) {
	api := f.Client.CoreV1().ConfigMaps(f.Namespace)
	selector := metav1.ListOptions{LabelSelector: burstLabel + "=watch"}
	list, err := api.List(ctx, selector)
	if err != nil {
		framework.Failf("list ConfigMaps of namespace %s: %v", f.Namespace, err)
	}
	opts := selector
	opts.ResourceVersion = list.ResourceVersion
	w, err := api.Watch(ctx, opts)
	if err != nil {
		framework.Failf("watch ConfigMaps of namespace %s: %v", f.Namespace, err)
	}
	defer w.Stop()

	var want []change
	var sent []time.Time
	write := func(c change, do func() error) {
		sent = append(sent, time.Now())
		if err := do(); err != nil {
			framework.Failf("%s ConfigMap %s/%s: %v", c.typ, f.Namespace, c.name, err)
		}
		want = append(want, c)
	}
	// Creates and updates while the first watch is open, read as they
	// come until the cut, half-way; the deletes while no watch is open.
	const live = 2 * burst
	cut := live / 2
	first := make(chan []seen, 1)
	var firstErr error
	go func() {
		var got []seen
		got, firstErr = read(ctx, w, cut)
		first <- got
	}()
	cms := make([]*corev1.ConfigMap, burst)
	for i := range burst {
		c := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("burst-%02d", i), Labels: map[string]string{burstLabel: "watch"}},
			Data: map[string]string{"step": "create"}}
		write(change{watch.Added, c.Name, "create"}, func() error {
			cms[i] = framework.Create(ctx, f, api, c)
			return nil
		})
	}
	for i, c := range cms {
		c.Data["step"] = "update"
		write(change{watch.Modified, c.Name, "update"}, func() (err error) {
			cms[i], err = api.Update(ctx, c, metav1.UpdateOptions{})
			return err
		})
	}
	got := <-first
	w.Stop()
	for _, c := range cms {
		write(change{watch.Deleted, c.Name, "update"}, func() error { return api.Delete(ctx, c.Name, metav1.DeleteOptions{}) })
	}
	var delays []float64
	for i, s := range got {
		delays = append(delays, s.at.Sub(sent[i]).Seconds()*1000)
	}
	var resumeErr error
	if firstErr == nil {
		opts.ResourceVersion = got[len(got)-1].rv
		start := time.Now()
		w2, err := api.Watch(ctx, opts)
		if err != nil {
			framework.Failf("resume the watch of ConfigMaps of namespace %s from the last event's resourceVersion: %v", f.Namespace, err)
		}
		defer w2.Stop()
		var rest []seen
		rest, resumeErr = read(ctx, w2, len(want)-len(got))
		if len(rest) > 0 {
			framework.Measure("watch resumed: first event after", rest[0].at.Sub(start).Seconds()*1000, "ms")
		}
		got = append(got, rest...)
	}
	changes := make([]change, len(got))
	for i, s := range got {
		changes[i] = s.change
	}
	if i := firstDifference(want, changes); i >= 0 || firstErr != nil || resumeErr != nil {
		framework.Failf("watch of ConfigMaps in namespace %s: want the %d changes written (%d read, the watch cut, %d more written, resumed from the last event read) each seen once in write order within %s each, got %s%s",
			f.Namespace, len(want), cut, len(want)-live, eventTimeout, describeDifference(want, changes, i, cut, errors.Join(firstErr, resumeErr)), framework.CutShort(ctx))
	}
	slices.Sort(delays)
	framework.Measure("watch event delay (median, from the write sent)", delays[len(delays)/2], "ms")
}

// burstLabel marks the watch check's ConfigMaps, which its watches select.
const burstLabel = "kubeproof.io/burst"

// read takes n events from w, each within eventTimeout; an error event
// ends it with the API server's status as a *StatusError.
func read(ctx context.Context, w watch.Interface, n int) ([]seen, error) {
	var got []seen
	timer := time.NewTimer(eventTimeout)
	defer timer.Stop()
	for len(got) < n {
		select {
		case <-ctx.Done():
			return got, errors.New("cut short")
		case <-timer.C:
			return got, fmt.Errorf("no event for %s", eventTimeout)
		case ev, open := <-w.ResultChan():
			if !open {
				return got, fmt.Errorf("the watch ended after %d events", len(got))
			}
			at := time.Now()
			if ev.Type == watch.Error {
				// A *StatusError: 410 Gone tells the client to list again.
				return got, apierrors.FromObject(ev.Object)
			}
			timer.Reset(eventTimeout)
			cm, ok := ev.Object.(*corev1.ConfigMap)
			if !ok {
				return got, fmt.Errorf("a %s event with a %T: %v", ev.Type, ev.Object, ev.Object)
			}
			got = append(got, seen{change{ev.Type, cm.Name, cm.Data["step"]}, at, cm.ResourceVersion})
		}
	}
	return got, nil
}

// firstDifference is the index of the first change got does not match,
// or -1 when got is want.
func firstDifference(want, got []change) int {
	for i := range max(len(want), len(got)) {
		if i >= len(want) || i >= len(got) || want[i] != got[i] {
			return i
		}
	}
	return -1
}

// describeDifference says where got departs from want: the first change
// missed, repeated or out of order, and which watch delivered it.
func describeDifference(want, got []change, i, cut int, err error) string {
	where := func(i int) string {
		if i < cut {
			return "before the cut"
		}
		return "after resuming"
	}
	var s string
	switch {
	case i < 0:
		s = fmt.Sprintf("all %d", len(want))
	case i >= len(got):
		s = fmt.Sprintf("%d events: missed %s and the %d after it", len(got), want[i], len(want)-i-1)
	case slices.Contains(got[:i], got[i]):
		s = fmt.Sprintf("event %d (%s) repeated: %s, want %s", i+1, where(i), got[i], want[i])
	default:
		s = fmt.Sprintf("event %d (%s) %s, want %s", i+1, where(i), got[i], want[i])
	}
	if err != nil {
		s += fmt.Sprintf(" (%v)", err)
	}
	return s
}
