package framework

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

func TestPoll(t *testing.T) {
	ctx := context.Background()
	calls := 0
	if !Poll(ctx, time.Second, time.Millisecond, func(context.Context) bool { calls++; return calls == 3 }) {
		t.Fatalf("Poll: want true once cond holds, got false after %d calls", calls)
	}
	if Poll(ctx, 20*time.Millisecond, time.Millisecond, func(context.Context) bool { return false }) {
		t.Fatal("Poll: want false when cond never holds")
	}
	// cond gets the caller's ctx, not one that ends with the timeout.
	Poll(ctx, 5*time.Millisecond, time.Millisecond, func(c context.Context) bool {
		if c != ctx {
			t.Error("Poll: cond got another context than the caller's")
		}
		return true
	})
	cancelled, cancel := context.WithCancelCause(ctx)
	cancel(errors.New("Interrupted by User\nsecond line"))
	if Poll(cancelled, time.Second, time.Millisecond, func(context.Context) bool { t.Error("cond called on an ended ctx"); return true }) {
		t.Fatal("Poll: want false on an ended ctx")
	}
	if got, want := CutShort(cancelled), " (cut short: Interrupted by User second line)"; got != want {
		t.Fatalf("CutShort: want %q, got %q", want, got)
	}
	if got := CutShort(ctx); got != "" {
		t.Fatalf("CutShort of a live ctx: want \"\", got %q", got)
	}
}

func TestPollCarriesPanics(t *testing.T) {
	defer func() {
		if r := recover(); r != "fail" {
			t.Fatalf("want the cond's panic raised again, got %v", r)
		}
	}()
	Poll(context.Background(), time.Second, time.Millisecond, func(context.Context) bool { panic("fail") })
}

func TestConsistently(t *testing.T) {
	ctx := context.Background()
	calls := 0
	if !Consistently(ctx, 20*time.Millisecond, time.Millisecond, func(context.Context) bool { calls++; return true }) || calls < 2 {
		t.Fatalf("Consistently: want true after several calls, got %d calls", calls)
	}
	calls = 0
	if Consistently(ctx, time.Second, time.Millisecond, func(context.Context) bool { calls++; return calls < 3 }) {
		t.Fatal("Consistently: want false once cond fails")
	}
}

func TestTrackerUntil(t *testing.T) {
	fw := watch.NewFake()
	tr := &Tracker[*corev1.Pod]{what: "pods app=web", w: fw, objs: map[string]*corev1.Pod{}}
	go fw.Add(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-0"}})
	if _, err := tr.Until(context.Background(), time.Second, func(time.Time) bool { return tr.Get("web-0") != nil }); err != nil {
		t.Fatalf("Until: %v", err)
	}
	if tr.Last() != "ADDED web-0" || len(tr.Objects()) != 1 {
		t.Fatalf("after one ADDED event: last %q, objects %v", tr.Last(), Names(tr.Objects()))
	}
	_, err := tr.Until(context.Background(), 10*time.Millisecond, func(time.Time) bool { return false })
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "timed out after 10ms") {
		t.Fatalf("Until timing out: want a one-line timeout error, got %v", err)
	}
}

func TestProbeTimeouts(t *testing.T) {
	next := ProbeTimeouts()
	var got []time.Duration
	for range 6 {
		got = append(got, next())
	}
	want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, RequestTimeout, RequestTimeout, RequestTimeout}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ProbeTimeouts: want %v, got %v", want, got)
		}
	}
}
