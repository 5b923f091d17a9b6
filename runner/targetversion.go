package runner

import (
	"fmt"
	"regexp"
	"strconv"

	"k8s.io/apimachinery/pkg/util/version"
)

// skewPolicy is what a refused --target-version quotes.
const skewPolicy = "Kubernetes is upgraded one minor version at a time (https://kubernetes.io/releases/version-skew-policy/; kubeadm refuses to skip one)"

var targetForm = regexp.MustCompile(`^v(\d+)\.(\d+)(\.(\d+))?$`)

// targetVersion is a --target-version: a minor, or a minor and patch.
type targetVersion struct {
	major, minor, patch int
	// hasPatch: the user named the patch too.
	hasPatch bool
	raw      string
	// flag names the option the version came from, for messages.
	flag string
}

// parseTarget reads vMAJOR.MINOR[.PATCH].
func parseTarget(s string) (targetVersion, error) { return parseVersionFlag("--target-version", s) }

func parseVersionFlag(flag, s string) (targetVersion, error) {
	m := targetForm.FindStringSubmatch(s)
	if m == nil {
		return targetVersion{}, fmt.Errorf("%s %q: want vMAJOR.MINOR or vMAJOR.MINOR.PATCH, such as v1.35 or v1.35.4", flag, s)
	}
	t := targetVersion{raw: s, hasPatch: m[4] != "", flag: flag}
	t.major, _ = strconv.Atoi(m[1])
	t.minor, _ = strconv.Atoi(m[2])
	if t.hasPatch {
		t.patch, _ = strconv.Atoi(m[4])
	}
	return t, nil
}

// checkTarget refuses a target the cluster cannot be upgraded to from
// the API server's version: another major, a skipped minor, a downgrade,
// or the version it already runs.
func checkTarget(server string, t targetVersion) error {
	sv, err := version.ParseGeneric(server)
	if err != nil {
		return fmt.Errorf("the API server's version %q is unreadable: %v", server, err)
	}
	next := fmt.Sprintf("v%d.%d", sv.Major(), sv.Minor()+1)
	major, minor, patch := int(sv.Major()), int(sv.Minor()), int(sv.Patch())
	switch {
	case t.major != major:
		return fmt.Errorf("%s %s: the cluster runs %s, and an upgrade stays within major version %d: %s, so the target is a later %d.%d patch or %s", t.flag, t.raw, server, major, skewPolicy, major, minor, next)
	case t.minor > minor+1:
		return fmt.Errorf("%s %s skips a minor version: %s; the cluster runs %s, so the target is a later v%d.%d patch or %s, then %s from there", t.flag, t.raw, skewPolicy, server, major, minor, next, t.raw)
	case t.minor < minor || t.minor == minor && t.hasPatch && t.patch < patch:
		return fmt.Errorf("%s %s is a downgrade: the cluster runs %s, and Kubernetes does not support going back; name a later v%d.%d patch or %s", t.flag, t.raw, server, major, minor, next)
	case t.minor == minor && (!t.hasPatch || t.patch == patch):
		return fmt.Errorf("%s %s: the cluster already runs %s; name a later v%d.%d patch or %s", t.flag, t.raw, server, major, minor, next)
	}
	return nil
}

// CheckUpgrade refuses an upgrade from version from to version to (the
// value of the option named flag) that the skew policy does not allow:
// another major, a skipped minor, a downgrade, the same version.
func CheckUpgrade(flag, from, to string) error {
	t, err := parseVersionFlag(flag, to)
	if err != nil {
		return err
	}
	return checkTarget(from, t)
}
