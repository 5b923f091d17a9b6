package workloads

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubeproof/kubeproof/fixtures/wire"
	"github.com/kubeproof/kubeproof/suites/framework"
)

const (
	// judging is the load's judging interval: "an answer in every
	// interval" is judged per interval, and a load ends one interval after
	// what it covers. loadRate puts 20 requests in each, as many as the
	// 1 s intervals at 20/s had, so a silent interval is as sure a sign.
	judging  = 250 * time.Millisecond
	loadRate = 80
	// loadCeiling ends a load nobody stopped (the spec's process killed):
	// specs stop theirs once what it covers is over.
	loadCeiling = 15 * time.Minute
)

// interval is one line of `workload load` output.
type interval = wire.Interval

// loadRun is `workload load` running in a client pod until the spec
// stops it: its intervals arrive as they are printed, so the spec sees
// the load running before it changes anything, and ends it one interval
// after the change it judges is over.
type loadRun struct {
	from  *corev1.Pod
	url   string
	stdin *io.PipeWriter
	done  chan struct{}
	// arrived gets a token each time an interval comes in.
	arrived chan struct{}

	mu        sync.Mutex
	partial   []byte
	intervals []interval
	total     interval
	ended     bool
	err       error
}

// startLoad runs the load in the background until stop.
func startLoad(ctx context.Context, f *framework.Framework, from *corev1.Pod, url string) *loadRun {
	ctx, cancel := context.WithCancel(ctx)
	stdin, w := io.Pipe()
	l := &loadRun{from: from, url: url, stdin: w, done: make(chan struct{}), arrived: make(chan struct{}, 1)}
	go func() {
		defer close(l.done)
		err := f.Client.ExecStream(ctx, from.Namespace, from.Name, "workload", stdin, l,
			"/workload", "load", "--url", url, "--rate", strconv.Itoa(loadRate), "--interval", judging.String(),
			"--duration", loadCeiling.String(), "--timeout", framework.RequestTimeout.String(), "--stop-on-eof")
		l.mu.Lock()
		defer l.mu.Unlock()
		l.err = err
	}()
	// A spec that fails early must not leave the exec running.
	ginkgo.DeferCleanup(func() {
		if err := w.Close(); err != nil {
			fmt.Fprintf(ginkgo.GinkgoWriter, "close the input of the load from %s: %v\n", framework.DescribePod(from), err)
		}
		cancel()
		<-l.done
	})
	return l
}

// Write takes the program's output as it streams in, a line at a time.
func (l *loadRun) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		var iv interval
		if json.Unmarshal(l.partial[:i], &iv) == nil && iv.Start != 0 {
			if iv.Final {
				l.total, l.ended = iv, true
			} else {
				l.intervals = append(l.intervals, iv)
			}
			select {
			case l.arrived <- struct{}{}:
			default:
			}
		}
		l.partial = l.partial[i+1:]
	}
	return len(p), nil
}

// state returns what has come in so far.
func (l *loadRun) state() (intervals []interval, ended bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]interval(nil), l.intervals...), l.ended, l.err
}

// running waits until an interval with an answer has come in: the load
// is under way, and what follows is judged by it.
func (l *loadRun) running(ctx context.Context) {
	ginkgo.GinkgoHelper()
	timer := time.NewTimer(framework.ProgramTimeout)
	defer timer.Stop()
	for {
		got, _, err := l.state()
		for _, iv := range got {
			if iv.OK > 0 {
				return
			}
		}
		select {
		case <-l.arrived:
			continue
		case <-l.done:
			got, _, err = l.state()
		case <-timer.C:
		case <-ctx.Done():
		}
		framework.Failf("load through %s from %s: want a %s interval with an answer within %s%s, got %s (%v)",
			l.url, framework.DescribePod(l.from), judging, framework.ProgramTimeout, framework.CutShort(ctx), summary(got), err)
	}
}

// stopAfter ends the load one judging interval after t, when what it
// covers was over, and collects it. The program finishes the interval
// under way when told to stop, so the load covers t and an interval
// beyond it on this machine's clock, whatever the pod's clock says.
func (l *loadRun) stopAfter(ctx context.Context, t time.Time, what string) {
	ginkgo.GinkgoHelper()
	timer := time.NewTimer(time.Until(t.Add(judging)))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-l.done:
		got, _, err := l.state()
		framework.Failf("load through %s from %s: want it running until %s after %s, got it ended after %s (%v)",
			l.url, framework.DescribePod(l.from), judging, what, summary(got), err)
	case <-ctx.Done():
		framework.Failf("load through %s from %s: want it running until %s after %s%s", l.url, framework.DescribePod(l.from), judging, what, framework.CutShort(ctx))
	}
	if err := l.stdin.Close(); err != nil {
		framework.Failf("stop the load through %s from %s: %v", l.url, framework.DescribePod(l.from), err)
	}
	// Stopping takes the rest of an interval and the requests in flight.
	limit := judging + framework.RequestTimeout + framework.ProgramTimeout
	select {
	case <-l.done:
	case <-time.After(limit):
	case <-ctx.Done():
	}
	got, ended, err := l.state()
	if err != nil || !ended {
		framework.Failf("load through %s from %s: want it ended with its totals within %s of being stopped%s, got %s, ended %t (%v)",
			l.url, framework.DescribePod(l.from), limit, framework.CutShort(ctx), summary(got), ended, err)
	}
}

// totals are the load's totals, once it has ended.
func (l *loadRun) totals() interval {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// judged is how many intervals the load printed.
func (l *loadRun) judged() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.intervals)
}

// summary says how far a load got: "12 intervals of 250ms, 3 with failures".
func summary(got []interval) string {
	failed := 0
	for _, iv := range got {
		if iv.Failed > 0 {
			failed++
		}
	}
	return fmt.Sprintf("%d intervals of %s, %d with failures", len(got), judging, failed)
}

// at names an interval by its offset from the load's start: "+2.25s".
func (l *loadRun) at(iv interval) string {
	return fmt.Sprintf("+%.2fs", float64(iv.Start-l.total.Start)/1000)
}

// silent lists the intervals in which nothing was answered, as
// "+5.25s: 0 ok, 20 failed (refused=20)", counting missing intervals too.
func (l *loadRun) silent() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	seen := map[int64]bool{}
	last := int64(-1)
	for _, iv := range l.intervals {
		i := (iv.Start - l.total.Start) / judging.Milliseconds()
		seen[i], last = true, max(last, i)
		switch {
		case iv.OK == 0 && iv.Failed == 0:
			out = append(out, fmt.Sprintf("%s: no requests sent (the client stalled)", l.at(iv)))
		case iv.OK == 0:
			out = append(out, fmt.Sprintf("%s: %s", l.at(iv), iv))
		}
	}
	for i := range last {
		if !seen[i] {
			out = append(out, fmt.Sprintf("+%.2fs: no requests", float64(i*judging.Milliseconds())/1000))
		}
	}
	return out
}

// failures lists the intervals with failed requests, like silent.
func (l *loadRun) failures() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, iv := range l.intervals {
		if iv.Failed > 0 {
			out = append(out, fmt.Sprintf("%s: %s", l.at(iv), iv))
		}
	}
	return out
}

// batch sends n requests from a pod and returns the totals; Backends
// counts the answers' bodies.
func batch(ctx context.Context, f *framework.Framework, from *corev1.Pod, url string, n int) (interval, error) {
	return f.HTTPBatch(ctx, from, url, n)
}
