package rehearsal

import (
	"strings"
	"testing"
	"time"

	"github.com/kubeproof/kubeproof/reporters/upgrade"
)

// samples makes one source's requests, 10 a second from start+from,
// answered or not as pattern says ('.' answered, 'x' failed).
func samples(s *series, source string, start time.Time, pattern string) {
	for i, c := range pattern {
		s.add(source, sample{at: start.Add(time.Duration(i) * 100 * time.Millisecond), ok: c == '.', class: map[bool]string{true: "", false: "refused"}[c == '.']})
	}
}

func TestOutageRunsFromTheFirstFailureToTheNextAnswer(t *testing.T) {
	start := time.Unix(1000, 0)
	s := &series{}
	samples(s, "node a", start, "....xxx.....x.....")
	samples(s, "node b", start, "..................")
	// Before the start: not part of the rehearsal.
	samples(s, "node a", start.Add(-time.Second), "xxxxx")
	p := judgeProbes(map[string]*series{probeSingle: s}, start, nil)
	var got upgrade.Probe
	for _, x := range p {
		if x.Name == probeSingle {
			got = x
		}
	}
	if got.Requests != 36 || got.Failed != 4 {
		t.Errorf("want 4 failed of 36 requests, got %d of %d", got.Failed, got.Requests)
	}
	if d := got.LongestOutageSeconds; d < 0.29 || d > 0.31 {
		t.Errorf("want the longest outage 0.3s (three failed, then an answer), got %.2f", d)
	}
	if got.OutageStart == nil || !got.OutageStart.Equal(start.Add(400*time.Millisecond)) {
		t.Errorf("want the outage to start at +0.4s, got %v", got.OutageStart)
	}
	if got.BudgetSeconds != nil || !got.WithinBudget {
		t.Errorf("the control without --max-downtime is measured, not judged: got budget %v, within %v", got.BudgetSeconds, got.WithinBudget)
	}
	if len(got.Series) != 2 || got.Series[0].Failed != 3 || got.Series[1].Failed != 1 {
		t.Errorf("want two seconds with 3 and 1 failed, got %+v", got.Series)
	}
}

func TestZeroBudgetAllowsNoFailedRequest(t *testing.T) {
	start := time.Unix(1000, 0)
	s := &series{}
	samples(s, "node a", start, ".....x....")
	p := judgeProbes(map[string]*series{probeClusterIPWeb: s, probeSingle: s}, start, map[string]time.Duration{probeSingle: time.Second})
	for _, x := range p {
		switch x.Name {
		case probeClusterIPWeb:
			if x.WithinBudget || x.BudgetSeconds == nil || *x.BudgetSeconds != 0 {
				t.Errorf("web: one failed request against a budget of 0 must fail, got %+v", x)
			}
		case probeSingle:
			if !x.WithinBudget {
				t.Errorf("single: a 0.1s outage is within --max-downtime 1s, got %+v", x)
			}
		}
	}
}

func TestWorstFindingFirst(t *testing.T) {
	r := &upgrade.Rehearsal{Namespace: "ns", Profile: "core", From: "v1.34.4", To: "v1.35.4",
		Before: upgrade.ProfileRun{Passed: 3}, After: upgrade.ProfileRun{Passed: 2, Failed: 1, Dir: "after"},
		Objects: []upgrade.Object{{Kind: "ConfigMap", Name: "settings", Before: "uid a", After: "uid b", Changed: "changed"}},
		Probes:  []upgrade.Probe{{Name: "dns", Failed: 3, Requests: 10, LongestOutageSeconds: 2, BudgetSeconds: ptrTo(0.0), BudgetSource: "set"}},
	}
	f := judge(r, []string{`after "x": kubelet v1.35.4 on w is newer than the API server v1.34.4`}, nil)
	sortFindings(f)
	var kinds []string
	for _, x := range f {
		kinds = append(kinds, x.Kind)
	}
	if strings.Join(kinds, ",") != "lost,profile,downtime,skew" {
		t.Errorf("want lost, profile, downtime, skew, got %v", kinds)
	}
	if !strings.HasPrefix(f[0].Message, "ConfigMap ns/settings changed across the upgrade") {
		t.Errorf("first line: %q", f[0].Message)
	}
}

func TestContainerProbeNames(t *testing.T) {
	for container, want := range map[string]string{"clusterip-web": "clusterip/web", "nodeport-web": "nodeport/web", "dns": "dns"} {
		if got := containerProbe(container); got != want {
			t.Errorf("%s: want %s, got %s", container, want, got)
		}
	}
}
