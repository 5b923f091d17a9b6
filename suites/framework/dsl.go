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
	// Longest first (the runner passes --randomize-all, so that each check
	// is scheduled on its own): the parallel processes then pack the short
	// checks around the long ones instead of ending on a long one.
	if s := typicalSeconds[name]; s > 0 {
		decs = append(decs, ginkgo.SpecPriority(s))
	}
	return ginkgo.It(name, append(decs, wrapped)...)
}
