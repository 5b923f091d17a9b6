package runner

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The image start ends at the first pod that cannot start, naming its
// node and the cause, and is done only when every container runs.
func TestJudgeImageStart(t *testing.T) {
	pod := func(name, node string, status corev1.PodStatus) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}, Spec: corev1.PodSpec{NodeName: node}, Status: status}
	}
	running := corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}
	waiting := func(reason, msg string) corev1.PodStatus {
		return corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}}}
	}
	nodes := map[string]string{"start-0": "n0", "start-1": "n1"}
	for _, c := range []struct {
		name    string
		pods    []*corev1.Pod
		since   time.Duration
		done    bool
		fail    string
		started map[string]bool
	}{
		{"all running", []*corev1.Pod{pod("start-0", "n0", running), pod("start-1", "n1", running)}, time.Second, true, "", nil},
		{"one still creating", []*corev1.Pod{pod("start-0", "n0", running), pod("start-1", "n1", waiting("ContainerCreating", ""))}, time.Second, false, "", nil},
		// The kubelet's Started event comes before its status says so.
		{"started, status not yet", []*corev1.Pod{pod("start-0", "n0", running), pod("start-1", "n1", waiting("ContainerCreating", ""))}, time.Second, true, "", map[string]bool{"start-1": true}},
		{"a pod not seen yet", []*corev1.Pod{pod("start-0", "n0", running)}, time.Second, false, "", nil},
		{"pull failed", []*corev1.Pod{pod("start-0", "n0", running), pod("start-1", "n1", waiting("ErrImagePull", "failed to pull: not found"))}, time.Second, false,
			"cannot start on node n1: ErrImagePull: failed to pull: not found (pod ns/start-1)", nil},
		{"back-off", []*corev1.Pod{pod("start-0", "n0", waiting("ImagePullBackOff", "Back-off pulling image"))}, time.Second, false,
			"cannot start on node n0: ImagePullBackOff: Back-off pulling image (pod ns/start-0)", nil},
		{"unschedulable", []*corev1.Pod{pod("start-0", "", corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/3 nodes are available: 1 Insufficient cpu."}}})}, time.Second, false,
			"cannot start on node n0: not scheduled: Unschedulable 0/3 nodes are available: 1 Insufficient cpu. (pod ns/start-0)", nil},
		// Two schedulers raced: one bound the pod, the other wrote its
		// failure to bind into the condition afterwards.
		{"bound, a losing scheduler's condition", []*corev1.Pod{pod("start-0", "n0", corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "SchedulerError", Message: `running Bind plugin "DefaultBinder": Operation cannot be fulfilled on pods/binding "start-0": pod start-0 is already assigned to node "n0"`}}})}, time.Second, false, "", nil},
		{"no scheduler yet", []*corev1.Pod{pod("start-0", "", corev1.PodStatus{Phase: corev1.PodPending})}, 5 * time.Second, false, "", nil},
		{"no scheduler", []*corev1.Pod{pod("start-0", "", corev1.PodStatus{Phase: corev1.PodPending})}, 11 * time.Second, false,
			"cannot start on node n0: not scheduled: no scheduler has acted on it within 10s (is kube-scheduler running?) (pod ns/start-0)", nil},
		{"exited", []*corev1.Pod{pod("start-0", "n0", corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 2}}}}})}, time.Second, false,
			"cannot start on node n0: the container exited: Error (exit 2) (pod ns/start-0)", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			done, fail := judgeImageStart(c.pods, c.started, nodes, c.since)
			if done != c.done || strings.TrimSpace(fail) != c.fail {
				t.Errorf("want done %v, failure %q; got %v, %q", c.done, c.fail, done, fail)
			}
		})
	}
}
