package runner

import (
	"strings"
	"testing"
)

func TestCheckTarget(t *testing.T) {
	for _, c := range []struct {
		target, want string
	}{
		{"v1.35", ""},
		{"v1.35.4", ""},
		{"v1.34.5", ""},
		{"v1.36.0", "skips a minor version"},
		{"v2.0.0", "stays within major version 1"},
		{"v1.33.9", "is a downgrade"},
		{"v1.34.3", "is a downgrade"},
		{"v1.34.4", "already runs v1.34.4"},
		{"v1.34", "already runs v1.34.4"},
	} {
		tv, err := parseTarget(c.target)
		if err != nil {
			t.Fatal(err)
		}
		err = checkTarget("v1.34.4", tv)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v, want it allowed", c.target, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want %q", c.target, err, c.want)
		}
	}
	for _, bad := range []string{"1.35", "v1", "v1.35.x", "latest", ""} {
		if _, err := parseTarget(bad); err == nil {
			t.Errorf("parseTarget(%q) accepted", bad)
		}
	}
}
