package workloads

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubeproof/kubeproof/fixtures/wire"
	"github.com/kubeproof/kubeproof/suites/framework"
)

// interval is one line of `workload load` output.
type interval = wire.Interval

// loadRun is `workload load` running in a client pod. The program prints
// only when it ends, so a run has a fixed duration, sized to cover what
// it watches; covers tells whether it did.
type loadRun struct {
	from     *corev1.Pod
	url      string
	duration time.Duration
	// issued is when the exec was sent: the load cannot start earlier.
	issued    time.Time
	done      chan struct{}
	intervals []interval
	total     interval
	err       error
}

// startLoad runs the load in the background; wait collects it.
func startLoad(ctx context.Context, f *framework.Framework, from *corev1.Pod, url string, perSecond int, duration time.Duration) *loadRun {
	ctx, cancel := context.WithCancel(ctx)
	l := newLoad(from, url, duration)
	go func() {
		defer close(l.done)
		l.err = l.run(ctx, f, perSecond)
	}()
	// A spec that fails early must not leave the exec running.
	ginkgo.DeferCleanup(func() { cancel(); <-l.done })
	return l
}

func newLoad(from *corev1.Pod, url string, duration time.Duration) *loadRun {
	return &loadRun{from: from, url: url, duration: duration, issued: time.Now(), done: make(chan struct{})}
}

// run execs the load in the client pod and parses what it printed.
func (l *loadRun) run(ctx context.Context, f *framework.Framework, perSecond int) error {
	out, err := f.Client.Exec(ctx, l.from.Namespace, l.from.Name, "workload", "/workload", "load",
		"--url", l.url, "--rate", strconv.Itoa(perSecond), "--duration", l.duration.String(),
		"--interval", "1s", "--timeout", framework.RequestTimeout.String())
	if err != nil {
		return fmt.Errorf("load %s from %s: %w", l.url, framework.DescribePod(l.from), err)
	}
	intervals, total, ended := wire.ParseIntervals(out)
	if !ended {
		return fmt.Errorf("load %s from %s: its output has no final line (the totals); it ends %s", l.url, framework.DescribePod(l.from), excerpt(out, 300))
	}
	l.intervals, l.total = intervals, total
	return nil
}

// excerpt quotes the end of a program's output, at most n bytes, on one
// line: where the final line should have been, and any error before it.
func excerpt(out string, n int) string {
	out = strings.TrimSpace(out)
	if len(out) <= n {
		return strconv.Quote(out)
	}
	return "..." + strconv.Quote(out[len(out)-n:])
}

// wait returns when the load has ended.
func (l *loadRun) wait(ctx context.Context) error {
	select {
	case <-l.done:
		return l.err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// covers reports whether the load was surely still sending at t. It is
// judged on this machine's clock alone (the pod's may differ): the load
// started no earlier than the exec was issued and sent for its duration.
func (l *loadRun) covers(t time.Time) bool {
	return t.Before(l.issued.Add(l.duration))
}

// silent lists the intervals in which nothing was answered, as
// "+5s: 0 ok, 20 failed (refused=20)", counting missing intervals too.
func (l *loadRun) silent() []string {
	var out []string
	seen := map[int64]bool{}
	for _, iv := range l.intervals {
		at := (iv.Start - l.total.Start) / 1000
		seen[at] = true
		if iv.OK == 0 {
			out = append(out, fmt.Sprintf("+%ds: %s", at, iv))
		}
	}
	for at := int64(0); at < int64(l.duration/time.Second); at++ {
		if !seen[at] {
			out = append(out, fmt.Sprintf("+%ds: no requests", at))
		}
	}
	return out
}

// failures lists the intervals with failed requests, like silent.
func (l *loadRun) failures() []string {
	var out []string
	for _, iv := range l.intervals {
		if iv.Failed > 0 {
			out = append(out, fmt.Sprintf("+%ds: %s", (iv.Start-l.total.Start)/1000, iv))
		}
	}
	return out
}

// batch sends about n requests at the standard rate and returns the
// totals; Backends counts the answers' bodies.
func batch(ctx context.Context, f *framework.Framework, from *corev1.Pod, url string, n int) (interval, error) {
	// Half a period more, so that the n-th request still falls inside.
	d := time.Duration(n)*time.Second/rate + time.Second/(2*rate)
	l := newLoad(from, url, d)
	err := l.run(ctx, f, rate)
	return l.total, err
}
