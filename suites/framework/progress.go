package framework

import (
	"fmt"
	"os"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/kubeproof/kubeproof/suites/contract"
)

var _ = ginkgo.ReportBeforeSuite(func(r ginkgo.Report) {
	writeProgress(contract.ProgressEvent{Start: true, Total: r.PreRunStats.SpecsThatWillRun})
})

var _ = ginkgo.ReportAfterEach(func(r ginkgo.SpecReport) {
	if r.LeafNodeType != types.NodeTypeIt {
		return
	}
	ev := contract.ProgressEvent{Spec: r.FullText(), State: r.State.String(), Seconds: r.RunTime.Seconds()}
	if r.Failed() {
		ev.Reason = r.Failure.Message
	}
	writeProgress(ev)
})

// writeProgress tells the runner a spec finished; a lost line costs only
// the live display, so it is reported on stderr, not failed.
func writeProgress(ev contract.ProgressEvent) {
	if Context.ProgressFile == "" {
		return
	}
	if err := contract.AppendProgress(Context.ProgressFile, ev); err != nil {
		fmt.Fprintf(os.Stderr, "kubeproof: progress: %v\n", err)
	}
}
