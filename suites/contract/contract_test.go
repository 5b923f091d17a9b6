package contract

import (
	"flag"
	"strings"
	"testing"
)

func TestSettingsRoundTrip(t *testing.T) {
	want := Settings{
		Cluster: Cluster{Kubeconfig: "/tmp/a b/kubeconfig", Context: "kind-x"}, RunID: "r1", WorkloadImage: "reg:5000/w@sha256:ab", ImagePullSecret: "ci/pull",
		ProgressFile: "/tmp/p.jsonl", KindCluster: "x", AllowDisruptive: true, AllowPrivilegedPods: true, RunnerPID: 4242, TargetVersion: "v1.35.4",
	}
	var got Settings
	fs := flag.NewFlagSet("suites", flag.ContinueOnError)
	got.RegisterFlags(fs)
	if err := fs.Parse(want.Args()); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("round trip: got %+v, want %+v", got, want)
	}
	// Every field is a flag: a new field without one would not reach the suites.
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n != len(want.settingFlags()) || n != 12 {
		t.Errorf("%d flags registered for %d settings; a new setting needs its flag", n, len(want.settingFlags()))
	}
}

func TestValidateFilter(t *testing.T) {
	for _, ok := range []string{"", "area:networking && !cross-node", "profile:quick || (area:dns)", "!disruptive"} {
		if err := ValidateFilter(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	err := ValidateFilter("area:netwerking")
	if err == nil || !strings.Contains(err.Error(), "area:netwerking") {
		t.Errorf("a misspelled label must be named, got %v", err)
	}
}

func TestFilter(t *testing.T) {
	for _, c := range []struct {
		profile, user string
		consent       bool
		want          string
		leftOut       int
	}{
		{"quick", "", false, "profile:quick", 1},
		{"core", "area:dns", false, "!disruptive && !profile:pre-upgrade && !profile:certification && (area:dns)", 4},
		{"certification", "", false, "!profile:pre-upgrade && !disruptive", 2},
		{"certification", "", true, "!profile:pre-upgrade", 1},
		{"pre-upgrade", "area:upgrade", false, "!disruptive && !profile:certification && (area:upgrade)", 3},
	} {
		got, left := Filter(c.profile, c.user, c.consent)
		if got != c.want || len(left) != c.leftOut {
			t.Errorf("Filter(%q, %q, %t) = %q %v, want %q and %d reasons", c.profile, c.user, c.consent, got, left, c.want, c.leftOut)
		}
	}
}
