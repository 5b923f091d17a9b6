package framework

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2"
)

// The deletions a spec registers (its objects, then its namespace) run on
// one goroutine of the process, in the order registered, while the next
// spec starts: the same requests, without the spec waiting for their
// answers (about 80 ms a spec, on the critical path of every process).
// AfterSuite waits for them; the runner's sweep removes what a process
// killed before that left, as it does for a process killed mid-spec.
var deletions = struct {
	once  sync.Once
	queue chan func()
	done  sync.WaitGroup
}{}

// deleteLater queues a deletion; it runs with a context of its own,
// bounded by timeout, whatever became of the spec's.
func deleteLater(timeout time.Duration, del func(ctx context.Context)) {
	deletions.once.Do(func() {
		deletions.queue = make(chan func(), 1024)
		go func() {
			for f := range deletions.queue {
				f()
				deletions.done.Done()
			}
		}()
	})
	deletions.done.Add(1)
	deletions.queue <- func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		del(ctx)
	}
}

// deletionsTimeout bounds the wait for the queued deletions at the end:
// each is one or two requests.
const deletionsTimeout = 2 * time.Minute

// Each process drops its peers when it is done (deleting them if they are
// its own) and waits for the deletions its specs queued; process 1, once
// every process is done, deletes the run's shared peers.
var _ = ginkgo.SynchronizedAfterSuite(func(ctx context.Context) {
	releasePeers(ctx, false)
	done := make(chan struct{})
	go func() { deletions.done.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(deletionsTimeout):
		fmt.Fprintf(os.Stderr, "kubeproof: deletions still queued after %s: the runner's sweep removes what they leave\n", deletionsTimeout)
	}
}, func(ctx context.Context) {
	releasePeers(ctx, true)
})
