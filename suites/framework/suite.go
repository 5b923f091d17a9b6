package framework

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/onsi/ginkgo/v2"

	"github.com/kubeproof/kubeproof/chaos/kindnode"
	"github.com/kubeproof/kubeproof/fixtures/workloadimage"
	"github.com/kubeproof/kubeproof/suites/contract"
)

// Context is the run's settings: given by the runner, or by a person
// running the suites with ginkgo, after `--`.
var Context contract.Settings

func init() {
	Context.RegisterFlags(flag.CommandLine)
}

// Before any spec, process 1 makes sure the workload image is on the
// nodes and creates the peers every process shares (see Peers), and hands
// both to the others.
var _ = ginkgo.SynchronizedBeforeSuite(func(ctx context.Context) []byte {
	if Context.WorkloadImage == "" {
		Context.WorkloadImage = sideLoaded(ctx)
	}
	data, err := json.Marshal(suiteStart{Image: Context.WorkloadImage, Peers: createSharedPeers(ctx)})
	if err != nil {
		Failf("%v", err)
	}
	return data
}, func(data []byte) {
	var start suiteStart
	if err := json.Unmarshal(data, &start); err != nil {
		Failf("the run's start from process 1: %v", err)
	}
	Context.WorkloadImage, sharedPeers = start.Image, start.Peers
	watchRunner(Context.RunnerPID)
})

// suiteStart is what process 1 hands the others before the first spec.
type suiteStart struct {
	Image string  `json:"image"`
	Peers peerSet `json:"peers"`
}

// sideLoaded names the workload image side-loaded into the kind cluster.
func sideLoaded(ctx context.Context) string {
	c := client()
	cluster := Context.KindCluster
	if cluster == "" {
		cluster = kindnode.ClusterFromContext(c.ContextName)
	}
	if cluster == "" {
		Failf("no --workload-image, and context %q is not a kind cluster on this machine to side-load it into: push the workload image to a registry your nodes pull from and pass --workload-image", c.ContextName)
	}
	ref, err := workloadimage.OnKind(ctx, cluster)
	if err != nil {
		Failf("%v", err)
	}
	return ref
}

// watchRunner interrupts this process once the runner is gone (killed with
// SIGKILL, it could not pass the interrupt on): Ginkgo then runs the
// registered cleanups, which revert faults and delete the run's objects,
// instead of carrying on with disruptive checks nobody watches.
func watchRunner(pid int) {
	if pid <= 0 {
		return
	}
	go func() {
		for range time.Tick(time.Second) {
			if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
				fmt.Fprintf(os.Stderr, "kubeproof: the runner (pid %d) is gone: interrupting the checks to run their cleanups\n", pid)
				if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
					fmt.Fprintf(os.Stderr, "kubeproof: interrupt: %v\n", err)
				}
				return
			}
		}
	}()
}
