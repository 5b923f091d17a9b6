package rehearsal

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/kubeproof/kubeproof/fixtures/wire"
	"github.com/kubeproof/kubeproof/reporters/upgrade"
)

// judgeProbes turns each probe's samples into its totals, its longest
// outage, its per-second series and its verdict against its budget.
func judgeProbes(all map[string]*series, start time.Time, overrides map[string]time.Duration) []upgrade.Probe {
	var out []upgrade.Probe
	for _, name := range probeNames() {
		p := upgrade.Probe{Name: name, Description: probes[name], Errors: map[string]int{}, FailedBy: map[string]int{}, WithinBudget: true}
		b, ok := defaultBudgets[name]
		if d, set := overrides[name]; set {
			b, ok = budget{d, "--max-downtime " + name + "=" + d.String()}, true
		}
		if ok {
			p.BudgetSeconds, p.BudgetSource = ptrTo(b.d.Seconds()), b.source
		} else {
			p.BudgetSource = "measured, not judged: nothing in the upgrade promises it no downtime (--max-downtime " + name + "=D judges it)"
		}
		s := all[name]
		if s == nil {
			s = &series{}
		}
		p.Detail = s.detail
		bySecond := map[int]*upgrade.Point{}
		last := 0
		for _, source := range sortedKeys(s.samples) {
			samples := s.samples[source]
			sort.Slice(samples, func(i, j int) bool { return samples[i].at.Before(samples[j].at) })
			var outageStart time.Time
			// What came before the start (the probes' pods start while the
			// workloads do) is not part of the rehearsal.
			samples = slices.DeleteFunc(slices.Clone(samples), func(x sample) bool { return x.at.Before(start) })
			for i, x := range samples {
				sec := int(x.at.Sub(start).Seconds())
				last = max(last, sec)
				pt := bySecond[sec]
				if pt == nil {
					pt = &upgrade.Point{Second: sec}
					bySecond[sec] = pt
				}
				p.Requests++
				if x.ok {
					pt.OK++
				} else {
					pt.Failed++
					p.Failed++
					p.Errors[x.class]++
					p.FailedBy[source]++
				}
				// An outage runs from its first failed request to the next
				// answered one (or one request interval past the last).
				switch {
				case !x.ok && outageStart.IsZero():
					outageStart = x.at
				case x.ok && !outageStart.IsZero():
					noteOutage(&p, outageStart, x.at)
					outageStart = time.Time{}
				}
				if i == len(samples)-1 && !outageStart.IsZero() {
					noteOutage(&p, outageStart, x.at.Add(time.Second/probeRate))
				}
			}
		}
		for sec := 0; sec <= last && len(bySecond) > 0; sec++ {
			if pt := bySecond[sec]; pt != nil {
				p.Series = append(p.Series, *pt)
			} else {
				p.Series = append(p.Series, upgrade.Point{Second: sec})
			}
		}
		if p.BudgetSeconds != nil {
			p.WithinBudget = p.LongestOutageSeconds <= *p.BudgetSeconds && (*p.BudgetSeconds > 0 || p.Failed == 0)
		}
		if len(p.Errors) == 0 {
			p.Errors, p.FailedBy = nil, nil
		}
		out = append(out, p)
	}
	return out
}

func noteOutage(p *upgrade.Probe, from, to time.Time) {
	if d := to.Sub(from).Seconds(); d > p.LongestOutageSeconds {
		p.LongestOutageSeconds = d
		at := from.UTC()
		p.OutageStart = &at
	}
}

func ptrTo[T any](v T) *T { return &v }

func sortedKeys[V any](m map[string]V) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// findingOrder ranks the kinds of finding, worst first: an upgrade that
// did not finish, lost objects or data, a profile that fails, downtime
// over budget, the skew policy broken, a workload that stopped working.
var findingOrder = map[string]int{"step": 0, "lost": 1, "profile": 2, "downtime": 3, "skew": 4, "workload": 5}

func sortFindings(f []upgrade.Finding) {
	sort.SliceStable(f, func(i, j int) bool { return findingOrder[f[i].Kind] < findingOrder[f[j].Kind] })
}

// judge lists what failed the rehearsal: objects or data lost, a profile
// run that did not pass, probes over budget, skew, the upgrade's failure.
func judge(r *upgrade.Rehearsal, skew []string, upgradeErr error) []upgrade.Finding {
	var f []upgrade.Finding
	for _, o := range r.Objects {
		if o.Changed != "" {
			f = append(f, upgrade.Finding{Kind: "lost", Message: fmt.Sprintf("%s %s/%s %s across the upgrade: before %s, after %s", o.Kind, r.Namespace, o.Name, o.Changed, o.Before, orNone(o.After))})
		}
	}
	for _, side := range []struct {
		name string
		run  upgrade.ProfileRun
	}{{"before", r.Before}, {"after", r.After}} {
		switch {
		case side.run.Error != "" && side.name == "after" && upgradeErr != nil:
		case side.run.Error != "":
			f = append(f, upgrade.Finding{Kind: "profile", Message: fmt.Sprintf("%s profile %s the upgrade could not run: %s", r.Profile, side.name, side.run.Error)})
		case side.run.Failed > 0 || side.run.Passed == 0:
			f = append(f, upgrade.Finding{Kind: "profile", Message: fmt.Sprintf("%s profile %s the upgrade: %d of %d checks failed (%s)", r.Profile, side.name, side.run.Failed, side.run.Failed+side.run.Passed, side.run.Dir)})
		}
	}
	// The longest outage over budget first.
	over := []upgrade.Probe{}
	for _, p := range r.Probes {
		if !p.WithinBudget {
			over = append(over, p)
		}
	}
	sort.SliceStable(over, func(i, j int) bool { return over[i].LongestOutageSeconds > over[j].LongestOutageSeconds })
	for _, p := range over {
		f = append(f, upgrade.Finding{Kind: "downtime", Message: downtimeLine(p, r.Started)})
	}
	for _, s := range skew {
		f = append(f, upgrade.Finding{Kind: "skew", Message: "version skew policy broken " + s})
	}
	if upgradeErr != nil {
		f = append(f, upgrade.Finding{Kind: "step", Message: "upgrade " + r.From + " -> " + r.To + " failed: " + upgradeErr.Error()})
	}
	return f
}

// downtimeLine: "probe clusterip/single: want at most 0s of downtime (why),
// got 2 failed of 3600 requests, longest outage 4.2s at +93s in step X
// (refused=2)".
func downtimeLine(p upgrade.Probe, start time.Time) string {
	at := ""
	if p.OutageStart != nil {
		at = fmt.Sprintf(" from +%.0fs", p.OutageStart.Sub(start).Seconds())
	}
	return fmt.Sprintf("probe %s: want at most %.1fs of downtime (%s), got %d failed of %d requests, longest outage %.1fs%s (%s; from %s)",
		p.Name, *p.BudgetSeconds, p.BudgetSource, p.Failed, p.Requests, p.LongestOutageSeconds, at, wire.Counts(p.Errors), wire.Counts(p.FailedBy))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// printSummary is the terminal's view: the verdict with the worst finding
// first, then the steps and each probe's figures.
func printSummary(w io.Writer, r *upgrade.Rehearsal, dir string) {
	if len(r.Findings) > 0 {
		fmt.Fprintf(w, "\nupgrade rehearsal %s -> %s: FAILED: %s\n", r.From, r.To, r.Findings[0].Message)
		for _, f := range r.Findings[1:] {
			fmt.Fprintf(w, "  also: %s\n", f.Message)
		}
	} else {
		fmt.Fprintf(w, "\nupgrade rehearsal %s -> %s: PASSED in %s\n", r.From, r.To, r.Ended.Sub(r.Started).Round(time.Second))
	}
	fmt.Fprintln(w, "steps:")
	for _, s := range r.Steps {
		node := ""
		if s.Node != "" {
			node = " on " + strings.TrimPrefix(s.Node, r.Cluster+"-")
		}
		fmt.Fprintf(w, "  %6.1fs  %s%s\n", s.Seconds, s.Name, node)
	}
	fmt.Fprintln(w, "probes:")
	for _, p := range r.Probes {
		verdict := "measured"
		if p.BudgetSeconds != nil {
			verdict = map[bool]string{true: "within budget", false: "OVER BUDGET"}[p.WithinBudget]
		}
		fmt.Fprintf(w, "  %-28s %6d requests, %5d failed, longest outage %5.1fs  %s\n", p.Name, p.Requests, p.Failed, p.LongestOutageSeconds, verdict)
	}
	fmt.Fprintf(w, "before: %s; after: %s; diff: %s\n", orNone(r.Before.Verdict), orNone(r.After.Verdict), orNone(r.Diff))
	fmt.Fprintf(w, "upgrade.json and upgrade.html in %s\n", strings.TrimSuffix(dir, "/"))
}
