package framework

import (
	"context"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	"sigs.k8s.io/e2e-framework/klient/wait"
)

const (
	// RequestTimeout bounds one request inside the cluster, where a
	// healthy answer takes milliseconds: far above any healthy round
	// trip, far below a hang.
	RequestTimeout = 2 * time.Second
	// ProgramTimeout is a generous ceiling for a change (a new Service, an
	// endpoint turning ready or unready) to reach the API and kube-proxy's
	// rules on every node of a loaded 2-core machine; it normally takes
	// about a second.
	ProgramTimeout = 30 * time.Second
	// PodStartTimeout bounds a test pod's start: the image is already on the
	// node, so this only covers scheduling, sandbox and container start on a
	// loaded 2-core machine.
	PodStartTimeout = 2 * time.Minute
)

// ProbeTimeouts gives the request timeouts of a wait that polls a path
// until it answers: 250 ms, doubling up to RequestTimeout. Before a new
// Service is programmed its packets go nowhere, so short first tries end
// the wait soon after it is; a slow but working path still gets the full
// RequestTimeout after a few tries.
func ProbeTimeouts() func() time.Duration {
	next := 250 * time.Millisecond
	return func() time.Duration {
		t := next
		next = min(2*next, RequestTimeout)
		return t
	}
}

// Poll calls cond at once and then every interval until it holds or
// timeout passes, and reports whether it held. The caller fails with its
// own one-line message naming what it last saw (add CutShort(ctx) to it).
// cond gets ctx itself, not one bounded by timeout: a request in flight at
// the deadline completes instead of failing the spec as cancelled.
func Poll(ctx context.Context, timeout, interval time.Duration, cond func(context.Context) bool) bool {
	held := false
	err := poll(ctx, timeout, interval, func() bool {
		held = cond(ctx)
		return held
	})
	return err == nil && held
}

// Consistently calls cond at once and then every interval for d, and
// reports whether it held every time. An ended ctx counts as not held:
// the check did not run its course.
func Consistently(ctx context.Context, d, interval time.Duration, cond func(context.Context) bool) bool {
	held := true
	_ = poll(ctx, d, interval, func() bool {
		held = cond(ctx)
		return !held
	})
	return held && ctx.Err() == nil
}

// WaitFor polls cond like Poll and, if it does not hold within timeout,
// fails the spec with one line: "<what>: want <want> within <timeout>,
// got <seen>", seen being what cond last reported.
func WaitFor(ctx context.Context, timeout, interval time.Duration, what, want string, cond func(context.Context) (ok bool, seen string)) {
	ginkgo.GinkgoHelper()
	seen := "nothing (not tried)"
	if !Poll(ctx, timeout, interval, func(ctx context.Context) bool {
		var ok bool
		ok, seen = cond(ctx)
		return ok
	}) {
		Failf("%s: want %s within %s%s, got %s", what, want, timeout, CutShort(ctx), oneLine(seen))
	}
}

// CutShort is "" while ctx is live and " (cut short: <cause>)" once it
// has ended, for a failure line: a wait the spec's interrupt or timeout
// stopped must not read as one that ran out of time.
func CutShort(ctx context.Context) string {
	if ctx.Err() == nil {
		return ""
	}
	return " (cut short: " + oneLine(context.Cause(ctx).Error()) + ")"
}

// poll runs wait.For over done, which it calls at once. A Fail or Skip
// inside done (a helper that fails the spec) is carried out of wait.For
// and raised again here: apimachinery's crash handler would log it as a
// crash on the way. A ctx that has already ended is not polled.
func poll(ctx context.Context, timeout, interval time.Duration, done func() bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var panicked any
	err := wait.For(func(context.Context) (ok bool, err error) {
		defer func() {
			if r := recover(); r != nil {
				panicked, ok = r, true
			}
		}()
		return done(), nil
	}, wait.WithContext(ctx), wait.WithTimeout(timeout), wait.WithInterval(interval), wait.WithImmediate())
	if panicked != nil {
		panic(panicked)
	}
	return err
}

// oneLine keeps a text on the first line of a failure: results and JUnit
// keep only that line.
func oneLine(s string) string {
	return newlines.Replace(strings.TrimSpace(s))
}

var newlines = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")
