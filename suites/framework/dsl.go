package framework

import (
	"fmt"

	"github.com/onsi/ginkgo/v2"

	"github.com/kubeproof/kubeproof/suites/contract"
)

// decorators turns the registry's labels among args into Ginkgo labels and
// passes every other decorator through, so specs write contract.AreaDNS
// where Ginkgo wants ginkgo.Label("area:dns").
func decorators(args []any) []any {
	out := make([]any, 0, len(args))
	for _, a := range args {
		if l, ok := a.(contract.Label); ok {
			a = ginkgo.Label(string(l))
		}
		out = append(out, a)
	}
	return out
}

// Long marks one of the longest checks of a run. The runner passes
// --randomize-all, so Ginkgo orders single specs, and hands these out
// first (ginkgo.SpecPriority): the short checks fill in around them, and no
// long one starts last to hold up the end of the run.
var Long = ginkgo.SpecPriority(1)

// Describe is ginkgo.Describe that takes the registry's labels.
func Describe(text string, args ...any) bool {
	return ginkgo.Describe(text, append([]any{ginkgo.Offset(1)}, decorators(args)...)...)
}

// Check declares a conformance-style spec: an It whose report carries the
// statement of what MUST hold. args are decorators (the registry's labels,
// ginkgo.Serial, ...) and, last, the body: func(ginkgo.SpecContext). The
// spec's location is the caller's line, so results point at the check.
func Check(name, must string, args ...any) bool {
	if len(args) == 0 {
		panic("framework.Check " + name + ": no body")
	}
	body, ok := args[len(args)-1].(func(ginkgo.SpecContext))
	if !ok {
		panic(fmt.Sprintf("framework.Check %s: last argument must be func(ginkgo.SpecContext), got %T", name, args[len(args)-1]))
	}
	wrapped := func(ctx ginkgo.SpecContext) {
		ginkgo.AddReportEntry(contract.EntryMust, must, ginkgo.ReportEntryVisibilityNever)
		body(ctx)
	}
	decs := append([]any{ginkgo.Offset(1)}, decorators(args[:len(args)-1])...)
	return ginkgo.It(name, append(decs, wrapped)...)
}
