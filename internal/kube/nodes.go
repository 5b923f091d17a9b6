package kube

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// MeantForPods: the node takes ordinary pods unless it fails, that is it
// is not cordoned and has no NoSchedule or NoExecute taint of its own (a
// control plane, a dedicated node). The taints the control plane sets on a
// failing node (node.kubernetes.io/...) do not count: see ConditionTaint.
func MeantForPods(n *corev1.Node) bool {
	if n.Spec.Unschedulable {
		return false
	}
	for _, t := range n.Spec.Taints {
		if blocksPods(t) && !strings.HasPrefix(t.Key, conditionTaintPrefix) {
			return false
		}
	}
	return true
}

// ConditionTaint names a NoSchedule or NoExecute taint the control plane
// set for the node's condition (not-ready, unreachable, pressure), "" if none.
func ConditionTaint(n *corev1.Node) string {
	for _, t := range n.Spec.Taints {
		if blocksPods(t) && strings.HasPrefix(t.Key, conditionTaintPrefix) {
			return t.Key + ":" + string(t.Effect)
		}
	}
	return ""
}

const conditionTaintPrefix = "node.kubernetes.io/"

func blocksPods(t corev1.Taint) bool {
	return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
}
