package kube

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestPodProblemSaysWhyAPendingPodIsNotScheduled(t *testing.T) {
	unscheduled := &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending}}
	if got := PodProblem(unscheduled); !strings.Contains(got, "no scheduler has acted") {
		t.Errorf("a pod no scheduler saw: got %q", got)
	}
	unschedulable := &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/3 nodes are available: 3 Insufficient cpu.",
	}}}}
	if got := PodProblem(unschedulable); got != "PodScheduled: Unschedulable 0/3 nodes are available: 3 Insufficient cpu." {
		t.Errorf("a pod the scheduler could not place: got %q", got)
	}
	bound := &corev1.Pod{Spec: corev1.PodSpec{NodeName: "n1"}, Status: corev1.PodStatus{Phase: corev1.PodPending}}
	if got := PodProblem(bound); got != "phase Pending" {
		t.Errorf("a bound pod not yet started: got %q", got)
	}
}
