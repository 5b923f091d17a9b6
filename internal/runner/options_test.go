package runner

import (
	"strings"
	"testing"
)

func TestLabelFilterHonoursProfileAndConsent(t *testing.T) {
	cases := []struct {
		profile, user string
		consent       bool
		want          string
	}{
		{"quick", "", false, "profile:quick"},
		{"core", "area:dns", true, "!disruptive && (area:dns)"},
		{"certification", "", false, "!disruptive"},
		{"certification", "chaos:node-stop", true, "(chaos:node-stop)"},
	}
	for _, c := range cases {
		o := Options{Profile: c.profile, LabelFilter: c.user}
		got, leftOut := o.labelFilter(c.consent)
		if got != c.want {
			t.Errorf("%s/%q/consent=%v: got %q, want %q", c.profile, c.user, c.consent, got, c.want)
		}
		if c.profile == "certification" && !c.consent && !strings.Contains(strings.Join(leftOut, " "), "consent") {
			t.Errorf("certification without consent must say disruptive checks were left out: %v", leftOut)
		}
	}
}

func TestValidateRejectsBadFlags(t *testing.T) {
	for _, o := range []Options{
		{Profile: "everything", Procs: 1},
		{Profile: "core", Procs: 1, LabelFilter: "area:netwroking"},
		{Profile: "core", Procs: 0},
		{Profile: "core", Procs: 1, Kind: true, Kubeconfig: "x"},
	} {
		o.OutputDir = t.TempDir()
		if err := o.validate(); err == nil {
			t.Errorf("%+v: want an error", o)
		}
	}
}
