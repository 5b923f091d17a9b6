package contract

import (
	"fmt"
	"slices"
	"strings"
)

// Profiles select what a run checks.
var Profiles = []string{"quick", "core", "certification", "pre-upgrade"}

// DefaultProfile is what a run checks when no profile is named.
const DefaultProfile = "core"

// ValidateProfile rejects a profile that does not exist.
func ValidateProfile(p string) error {
	if !slices.Contains(Profiles, p) {
		return fmt.Errorf("--profile %q: want one of %s", p, strings.Join(Profiles, ", "))
	}
	return nil
}

// PreUpgradeLeftOut is what every profile but pre-upgrade leaves out, and
// why: the only thing a certification run may leave out.
const PreUpgradeLeftOut = "pre-upgrade checks: they judge the cluster against the version it will be upgraded to (use --profile pre-upgrade --target-version)"

// CertificationOnlyLeftOut is what the core and pre-upgrade profiles
// leave out besides disruptive checks: checks labelled
// profile:certification, which wait out a cluster's own periodic timers
// (a minute or more each) and so do not belong in a CI gate.
const CertificationOnlyLeftOut = "checks that wait out the cluster's own periodic timers, such as the kubelet's pod sync (use --profile certification)"

// Filter combines a profile with the user's label filter into the one
// Ginkgo runs, and says what the combination leaves out and why. Disruptive
// checks run only with consent (the user's, or a cluster the run created).
func Filter(profile, userFilter string, consented bool) (filter string, leftOut []string) {
	var parts []string
	switch profile {
	case "quick":
		parts = append(parts, string(ProfileQuick))
		leftOut = append(leftOut, "checks outside the quick profile (use --profile core or certification)")
	case "core":
		parts = append(parts, "!"+string(Disruptive), "!"+string(ProfilePreUpgrade), "!"+string(ProfileCertification))
		leftOut = append(leftOut, "disruptive checks: node faults and component outages (use --profile certification)", PreUpgradeLeftOut, CertificationOnlyLeftOut)
	case "certification":
		parts = append(parts, "!"+string(ProfilePreUpgrade))
		leftOut = append(leftOut, PreUpgradeLeftOut)
		if !consented {
			parts = append(parts, "!"+string(Disruptive))
			leftOut = append(leftOut, "disruptive checks: no consent to break this cluster (pass --allow-disruptive, or use --kind)")
		}
	case "pre-upgrade":
		// The core checks, and those that judge the target version.
		parts = append(parts, "!"+string(Disruptive), "!"+string(ProfileCertification))
		leftOut = append(leftOut, "disruptive checks: node faults and component outages (use --profile certification)", CertificationOnlyLeftOut)
	}
	if userFilter != "" {
		parts = append(parts, "("+userFilter+")")
		leftOut = append(leftOut, "checks outside --label-filter "+userFilter)
	}
	return strings.Join(parts, " && "), leftOut
}

// SelectsDisruptive: the profile runs the disruptive checks, given consent
// to break the cluster (see Filter).
func SelectsDisruptive(profile string, consented bool) bool {
	return profile == "certification" && consented
}
