package contract

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Label is one label a check may carry. Specs use these constants, never
// strings, so a typo does not compile, and the runner rejects a
// --label-filter that names anything else.
type Label string

// The registry.
const (
	AreaNodes      Label = "area:nodes"
	AreaNetworking Label = "area:networking"
	AreaServices   Label = "area:services"
	AreaDNS        Label = "area:dns"
	AreaWorkloads  Label = "area:workloads"
	AreaResilience Label = "area:resilience"
	// AreaUpgrade judges a cluster against the version it is about to be
	// upgraded to (Settings.TargetVersion).
	AreaUpgrade Label = "area:upgrade"
	// AreaControlPlane checks the control plane through what it does.
	AreaControlPlane Label = "area:control-plane"
	// AreaStorage checks persistent storage through the default class.
	AreaStorage Label = "area:storage"
	// AreaPods checks the pod model itself: containers, probes, Jobs.
	AreaPods Label = "area:pods"

	ProfileQuick Label = "profile:quick"
	ProfileCore  Label = "profile:core"
	// ProfileCertification marks the checks only the certification
	// profile runs: they wait out a cluster's own periodic timers.
	ProfileCertification Label = "profile:certification"
	// ProfilePreUpgrade checks need a target version: no other profile
	// selects them.
	ProfilePreUpgrade Label = "profile:pre-upgrade"

	// Disruptive checks break something cluster-wide (a node, a system
	// component); they run Serial and only with consent.
	Disruptive Label = "disruptive"
	// CrossNode checks need at least two schedulable nodes.
	CrossNode Label = "cross-node"

	// NeedsHostNetwork and NeedsPrivileged mark checks whose pods need more
	// than Pod Security "restricted" allows: their namespaces carry no
	// restricted label, and where the cluster's policy refuses the pods
	// the check is reported not checked, saying so.
	NeedsHostNetwork Label = "needs:host-network"
	NeedsPrivileged  Label = "needs:privileged"
	// NeedsRoot marks checks with a container that runs as root (an init
	// container that gives a volume to the workload's user).
	NeedsRoot Label = "needs:root"

	ChaosNodeStop    Label = "chaos:node-stop"
	ChaosNodePause   Label = "chaos:node-pause"
	ChaosKubeletStop Label = "chaos:kubelet-stop"
	// ChaosKubeletFreeze works on any cluster, through a privileged pod.
	ChaosKubeletFreeze Label = "chaos:kubelet-freeze"
	ChaosPartition     Label = "chaos:network-partition"
	ChaosDrain         Label = "chaos:drain"
	ChaosPodKill       Label = "chaos:pod-kill"
	// ChaosComponentStop stops a control-plane component (kind only).
	ChaosComponentStop Label = "chaos:component-stop"
)

// Labels lists the registry, sorted.
var Labels = sorted(
	AreaNodes, AreaNetworking, AreaServices, AreaDNS, AreaWorkloads, AreaResilience, AreaUpgrade, AreaControlPlane, AreaStorage, AreaPods,
	ProfileQuick, ProfileCore, ProfileCertification, ProfilePreUpgrade,
	Disruptive, CrossNode, NeedsHostNetwork, NeedsPrivileged, NeedsRoot,
	ChaosNodeStop, ChaosNodePause, ChaosKubeletStop, ChaosKubeletFreeze, ChaosPartition, ChaosDrain, ChaosPodKill, ChaosComponentStop,
)

func sorted(ls ...Label) []Label {
	slices.Sort(ls)
	return ls
}

// LabelNames lists the registry as strings, comma-separated.
func LabelNames() string {
	var names []string
	for _, l := range Labels {
		names = append(names, string(l))
	}
	return strings.Join(names, ", ")
}

var filterWord = regexp.MustCompile(`[a-z][a-z0-9-]*(:[a-z0-9-]+)?`)

// ValidateFilter rejects a Ginkgo label filter that names a label outside
// the registry: a typo would otherwise select nothing, silently.
func ValidateFilter(filter string) error {
	var unknown []string
	for _, w := range filterWord.FindAllString(strings.ToLower(filter), -1) {
		if !slices.Contains(Labels, Label(w)) {
			unknown = append(unknown, w)
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("label filter %q names unknown labels %v; known: %s", filter, unknown, LabelNames())
	}
	return nil
}
