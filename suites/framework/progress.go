package framework

import (
	"encoding/json"
	"os"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
)

// ProgressEvent is one line of the progress file the runner tails.
type ProgressEvent struct {
	// Start marks the line written before the first spec, with Total, the
	// number of specs that will run.
	Start bool `json:"start,omitempty"`
	Total int  `json:"total,omitempty"`
	// Spec, State and Seconds describe a finished spec.
	Spec    string  `json:"spec,omitempty"`
	State   string  `json:"state,omitempty"`
	Seconds float64 `json:"seconds,omitempty"`
	Reason  string  `json:"reason,omitempty"`
	At      string  `json:"at"`
}

var _ = ginkgo.ReportBeforeSuite(func(r ginkgo.Report) {
	writeProgress(ProgressEvent{Start: true, Total: r.PreRunStats.SpecsThatWillRun})
})

var _ = ginkgo.ReportAfterEach(func(r ginkgo.SpecReport) {
	if r.LeafNodeType != types.NodeTypeIt {
		return
	}
	ev := ProgressEvent{Spec: r.FullText(), State: r.State.String(), Seconds: r.RunTime.Seconds()}
	if r.Failed() {
		ev.Reason = r.Failure.Message
	}
	writeProgress(ev)
})

// writeProgress appends one line; O_APPEND keeps lines from parallel
// processes whole.
func writeProgress(ev ProgressEvent) {
	if Context.ProgressFile == "" {
		return
	}
	ev.At = time.Now().UTC().Format(time.RFC3339Nano)
	data, _ := json.Marshal(ev)
	f, err := os.OpenFile(Context.ProgressFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.Write(append(data, '\n'))
}
