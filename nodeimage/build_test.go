package nodeimage

import (
	"os"
	"regexp"
	"testing"
)

func TestOlderBuildPrunesOnlyTheSameVersions(t *testing.T) {
	for _, c := range []struct {
		ref, keep string
		want      bool
	}{
		{"kubeproof/node:v1.34.4-0123456789ab", "kubeproof/node:v1.34.4-ba9876543210", true},
		{"kubeproof/node:v1.34.4-ba9876543210", "kubeproof/node:v1.34.4-ba9876543210", false},
		{"kubeproof/node:v1.34.4-v1.35.4-0123456789ab", "kubeproof/node:v1.34.4-ba9876543210", false},
		{"kubeproof/node:v1.34.4-0123456789ab", "kubeproof/node:v1.34.4-v1.35.4-ba9876543210", false},
		{"kubeproof/node:v1.34.4-v1.35.4-0123456789ab", "kubeproof/node:v1.34.4-v1.35.4-ba9876543210", true},
		{"kubeproof/node:v1.35.4-0123456789ab", "kubeproof/node:v1.34.4-ba9876543210", false},
	} {
		if got := olderBuild(c.ref, c.keep); got != c.want {
			t.Errorf("olderBuild(%s, keeping %s) = %v, want %v", c.ref, c.keep, got, c.want)
		}
	}
}

func TestUpgradeVersionMustBeTheNextMinor(t *testing.T) {
	for _, c := range []struct {
		from, to string
		ok       bool
	}{
		{"v1.34.4", "v1.35.4", true},
		{"v1.34.4", "v1.36.1", false},
		{"v1.34.4", "v1.34.3", false},
		{"v1.34.4", "1.35.4", false},
	} {
		o := Options{KubernetesVersion: c.from, UpgradeVersion: c.to, SourceDir: ".", CacheDir: "."}
		if err := o.defaults(); (err == nil) != c.ok {
			t.Errorf("%s -> %s: err %v, want ok=%v", c.from, c.to, err, c.ok)
		}
	}
}

func TestMakefileBuildsTheDefaultUpgradeVersion(t *testing.T) {
	data, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^UPGRADE_VERSION \?= (\S+)$`).FindSubmatch(data)
	if m == nil || string(m[1]) != DefaultUpgradeVersion {
		t.Errorf("Makefile's UPGRADE_VERSION: want %s (nodeimage.DefaultUpgradeVersion), got %q", DefaultUpgradeVersion, m)
	}
}
