package runner

import (
	"regexp"
	"testing"
	"time"

	"github.com/kubeproof/kubeproof/suites/contract"
)

func TestValidateRejectsBadFlags(t *testing.T) {
	for _, o := range []Options{
		{Profile: "everything", Procs: 1},
		{Profile: "core", Procs: 1, LabelFilter: "area:netwroking"},
		{Profile: "core", Procs: 0},
		{Profile: "core", Procs: 1, Kind: true, Settings: contract.Settings{Cluster: contract.Cluster{Kubeconfig: "x"}}},
		{Profile: "core", Procs: 1, KindConfig: "fast-recovery"},
	} {
		o.OutputDir = t.TempDir()
		if err := o.validate(); err == nil {
			t.Errorf("%+v: want an error", o)
		}
	}
}

func TestRunIDsDifferWithinASecond(t *testing.T) {
	now := time.Date(2026, 11, 25, 22, 4, 51, 0, time.UTC)
	a, b := NewRunID(now), NewRunID(now)
	if a == b {
		t.Errorf("two runs in the same second got the same ID %s", a)
	}
	if !regexp.MustCompile(`^20261125-220451-[0-9a-f]{8}$`).MatchString(a) {
		t.Errorf("run ID %q: want <UTC time>-<8 hex digits> (it names kind clusters and labels)", a)
	}
}
