package framework

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/onsi/ginkgo/v2"
)

// The label registry: every label a spec may carry. Specs use these
// values, never strings, so a typo does not compile, and the runner
// rejects a --label-filter that names anything else.
var (
	AreaNetworking = label("area:networking")
	AreaServices   = label("area:services")
	AreaDNS        = label("area:dns")
	AreaWorkloads  = label("area:workloads")
	AreaResilience = label("area:resilience")

	ProfileQuick         = label("profile:quick")
	ProfileCore          = label("profile:core")
	ProfileCertification = label("profile:certification")

	// Disruptive specs break something cluster-wide (a node, a system
	// component); they run Serial and only with consent.
	Disruptive = label("disruptive")
	// CrossNode specs need at least two schedulable nodes.
	CrossNode = label("cross-node")

	ChaosNodeStop    = label("chaos:node-stop")
	ChaosNodePause   = label("chaos:node-pause")
	ChaosKubeletStop = label("chaos:kubelet-stop")
	// ChaosKubeletFreeze works on any cluster, through a privileged pod.
	ChaosKubeletFreeze = label("chaos:kubelet-freeze")
	ChaosPartition     = label("chaos:network-partition")
	ChaosDrain         = label("chaos:drain")
	ChaosPodKill       = label("chaos:pod-kill")
)

var registry = map[string]bool{}

func label(name string) ginkgo.Labels {
	registry[name] = true
	return ginkgo.Label(name)
}

// KnownLabels lists the registry, sorted.
func KnownLabels() []string {
	var out []string
	for l := range registry {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

var filterWord = regexp.MustCompile(`[a-z][a-z0-9-]*(:[a-z0-9-]+)?`)

// ValidateLabelFilter rejects a Ginkgo label filter that names a label
// outside the registry: a typo would otherwise select nothing, silently.
func ValidateLabelFilter(filter string) error {
	var unknown []string
	for _, w := range filterWord.FindAllString(strings.ToLower(filter), -1) {
		if !registry[w] {
			unknown = append(unknown, w)
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("label filter %q names unknown labels %v; known: %s", filter, unknown, strings.Join(KnownLabels(), ", "))
	}
	return nil
}
