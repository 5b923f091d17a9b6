package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/onsi/ginkgo/v2"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/kubeproof/kubeproof/fixtures"
	"github.com/kubeproof/kubeproof/fixtures/wire"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/suites/framework"
)

const (
	// dataDir is where the StatefulSet's pod mounts its claim; the
	// workload writes its state token there on first start.
	dataDir = "/data"
	// setName is the StatefulSet's; its one pod is setName-0, its claim
	// data-setName-0.
	setName   = "db"
	claimSize = "16Mi"
)

// statefulPodKeepsData runs a StatefulSet of one pod, pinned to one node,
// whose claim (from a template, of the default class) the workload writes
// a token to on first start (who wrote it and when). The token must read
// the same after the container restarts (it exits; the kubelet restarts
// it in place) and after the pod is deleted (the StatefulSet makes it
// again, with the same claim). The pod stays on its node: whether a
// volume follows a pod to another node is the class's property, not what
// this checks. An init container running as root gives the volume to the
// workload's user (host-path provisioners make root's directories); a
// cluster whose policy refuses that is not checked, saying so.
func statefulPodKeepsData(ctx context.Context, f *framework.Framework) {
	sc, _ := defaultClass(ctx, f)
	nodes := f.SchedulableNodes(ctx)
	node := nodes[0].Name
	template := statefulTemplate(node)

	// Refused pods would only show as the StatefulSet's events: ask first.
	probe := &corev1.Pod{ObjectMeta: *template.ObjectMeta.DeepCopy(), Spec: *template.Spec.DeepCopy()}
	probe.Name = setName + "-admission"
	probe.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	if _, err := f.Client.CoreV1().Pods(f.Namespace).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); apierrors.IsForbidden(err) || apierrors.IsInvalid(err) {
		ginkgo.Skip(fmt.Sprintf("not checked: the cluster refuses a pod whose init container runs as root (capability CHOWN only) to give its volume to the workload's user: %v", err))
	} else if err != nil {
		framework.Failf("dry-run create of a pod like StatefulSet %s's: %v", setName, err)
	}

	pods := framework.WatchPods(ctx, f, "app="+setName)
	set := framework.Create(ctx, f, f.Client.AppsV1().StatefulSets(f.Namespace), &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: setName},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To(int32(1)),
			ServiceName: setName,
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": setName}},
			Template:    template,
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data", Labels: framework.RunLabels()},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(claimSize)}},
				},
			}},
			// The claim goes with the StatefulSet when the spec ends.
			PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
				WhenDeleted: appsv1.DeletePersistentVolumeClaimRetentionPolicyType, WhenScaled: appsv1.DeletePersistentVolumeClaimRetentionPolicyType},
		},
	})
	name := setName + "-0"
	claimName := "data-" + name
	first := waitPod(ctx, pods, name, fmt.Sprintf("StatefulSet %s's pod %s (claim %s of StorageClass %s, provisioner %s)", setName, name, claimName, sc.Name, sc.Provisioner),
		func(*corev1.Pod) bool { return true })
	if got := claimOfPod(first); got != claimName {
		framework.Failf("StatefulSet %s's pod %s: want it to mount claim %s from the claim template, got %q", setName, name, claimName, got)
	}
	token := readState(ctx, f, first, "when Ready first")
	claimUID := claimOf(ctx, f, claimName)

	// The container exits; the kubelet restarts it in place.
	restarted := time.Now()
	f.Exit(ctx, first, 1)
	again := waitPod(ctx, pods, name, fmt.Sprintf("pod %s/%s after its container exited (restarted in place)", f.Namespace, name),
		func(p *corev1.Pod) bool { return p.UID == first.UID && restartsOf(p) > restartsOf(first) })
	framework.Measure("container exit to Ready again", time.Since(restarted).Seconds(), "s")
	if got := readState(ctx, f, again, "after its container restarted"); got != token {
		framework.Failf("pod %s/%s (node %s, claim %s): want the token its container wrote to %s on first start after the container restarted, %q, got %q: the volume's data was lost", f.Namespace, name, again.Spec.NodeName, claimName, dataDir, token, got)
	}

	// The pod is deleted; the StatefulSet makes it again, same claim.
	deleted := time.Now()
	if err := f.Client.CoreV1().Pods(f.Namespace).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		framework.Failf("delete pod %s/%s: %v", f.Namespace, name, err)
	}
	back := waitPod(ctx, pods, name, fmt.Sprintf("StatefulSet %s's pod %s made again after its deletion", setName, name),
		func(p *corev1.Pod) bool { return p.UID != first.UID })
	framework.Measure("pod deletion to its replacement Ready", time.Since(deleted).Seconds(), "s")
	if got := claimOfPod(back); got != claimName {
		framework.Failf("StatefulSet %s's pod %s made again: want it to mount claim %s, got %q", setName, name, claimName, got)
	}
	if uid := claimOf(ctx, f, claimName); uid != claimUID {
		framework.Failf("StatefulSet %s's pod %s made again: want its claim %s the same object (UID %s), got UID %s: the claim was made anew", setName, name, claimName, claimUID, uid)
	}
	if got := readState(ctx, f, back, "after the pod was made again"); got != token {
		framework.Failf("StatefulSet %s's pod %s made again on node %s with claim %s: want the token the first pod wrote to %s, %q, got %q: the volume's data was lost", setName, name, back.Spec.NodeName, claimName, dataDir, token, got)
	}
	if len(nodes) > 1 {
		measureFollows(ctx, f, pods, set.Name, back, nodes[1].Name, token, sc.Provisioner)
	}
}

// followsName is the measurement of whether a claim's data follows its
// pod to another node: a property of the class (network-attached volumes
// do, node-local ones do not), reported, not judged.
const followsName = "the claim's data on another node (1 followed the pod, 0 left behind, -1 the volume keeps the pod on its node)"

// measureFollows pins the StatefulSet's pod to node instead (its rolling
// update makes it again there) and records what became of its data: the
// same token there, a new one (an empty volume on that node), or no pod
// scheduled (the volume's node affinity keeps it where the data is).
func measureFollows(ctx context.Context, f *framework.Framework, pods *framework.Tracker[*corev1.Pod], set string, from *corev1.Pod, node, token, provisioner string) {
	ginkgo.GinkgoHelper()
	api := f.Client.AppsV1().StatefulSets(f.Namespace)
	s, err := api.Get(ctx, set, metav1.GetOptions{})
	if err != nil {
		framework.Failf("read StatefulSet %s/%s: %v", f.Namespace, set, err)
	}
	s.Spec.Template.Spec.Affinity = pinned(node)
	if _, err := api.Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		framework.Failf("pin StatefulSet %s/%s's pod to node %s: %v", f.Namespace, set, node, err)
	}
	var moved *corev1.Pod
	var unschedulable string
	if _, err := pods.Until(ctx, framework.PodStartTimeout, func(time.Time) bool {
		p := pods.Get(from.Name)
		if p == nil || p.UID == from.UID || p.DeletionTimestamp != nil {
			return false
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
				unschedulable = c.Message
				return true
			}
		}
		if kube.PodReady(p) {
			moved = p
			return true
		}
		return false
	}); err != nil {
		framework.Failf("StatefulSet %s/%s's pod pinned to node %s instead of %s: want it Ready there or refused by the scheduler within %s, got %s (%v)",
			f.Namespace, set, node, from.Spec.NodeName, framework.PodStartTimeout, framework.DescribePods(pods.Objects()), err)
	}
	switch {
	case unschedulable != "":
		framework.Measure(followsName, -1, "")
		framework.Warn("the claim of StatefulSet %s keeps its pod on node %s: pinned to node %s instead, the pod is not scheduled (%s)", set, from.Spec.NodeName, node, unschedulable)
	case readState(ctx, f, moved, "on another node") == token:
		framework.Measure(followsName, 1, "")
	default:
		framework.Measure(followsName, 0, "")
		framework.Warn("the data StatefulSet %s's pod wrote on node %s is not on node %s: its claim's volume (provisioner %s) is node-local, a pod moved to another node starts with an empty volume", set, from.Spec.NodeName, node, provisioner)
	}
}

// statefulTemplate is the StatefulSet's pod: the workload keeping its
// state on the claim, pinned to node, with an init container that gives
// the volume to the workload's user.
func statefulTemplate(node string) corev1.PodTemplateSpec {
	pod := framework.ServerPod(framework.Server{Name: setName, Labels: map[string]string{"app": setName}})
	for k, v := range framework.RunLabels() {
		pod.Labels[k] = v
	}
	c := &pod.Spec.Containers[0]
	c.Args = append(c.Args, "--state="+dataDir)
	mount := corev1.VolumeMount{Name: "data", MountPath: dataDir}
	c.VolumeMounts = append(c.VolumeMounts, mount)
	pod.Spec.InitContainers = []corev1.Container{{
		Name: "own-data", Image: c.Image, ImagePullPolicy: c.ImagePullPolicy,
		Args: []string{"own", "--dir=" + dataDir, fmt.Sprintf("--uid=%d", fixtures.NonRootUID)},
		SecurityContext: &corev1.SecurityContext{
			RunAsUser: ptr.To(int64(0)), RunAsNonRoot: ptr.To(false),
			AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
			Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"CHOWN"}},
		},
		VolumeMounts: []corev1.VolumeMount{mount},
	}}
	// Volumes that honour fsGroup are the workload's without the init
	// container.
	pod.Spec.SecurityContext.FSGroup = ptr.To(int64(fixtures.NonRootUID))
	pod.Spec.Affinity = pinned(node)
	return corev1.PodTemplateSpec{ObjectMeta: pod.ObjectMeta, Spec: pod.Spec}
}

// pinned keeps a pod to one node.
func pinned(node string) *corev1.Affinity {
	return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{node}}}}},
	}}}
}

// waitPod waits until pod name is Ready and ok holds for it.
func waitPod(ctx context.Context, pods *framework.Tracker[*corev1.Pod], name, what string, ok func(*corev1.Pod) bool) *corev1.Pod {
	ginkgo.GinkgoHelper()
	var last *corev1.Pod
	if _, err := pods.Until(ctx, framework.PodStartTimeout, func(time.Time) bool {
		p := pods.Get(name)
		if p != nil {
			last = p
		}
		return p != nil && p.DeletionTimestamp == nil && kube.PodReady(p) && ok(p)
	}); err != nil {
		seen := "no pod"
		if last != nil {
			seen = fmt.Sprintf("%s %s", framework.DescribePod(last), framework.PodState(last))
		}
		framework.Failf("%s: want it Ready within %s, got %s (%v)", what, framework.PodStartTimeout, seen, err)
	}
	return pods.Get(name)
}

// readState is the token the workload keeps on the volume (GET /state).
func readState(ctx context.Context, f *framework.Framework, p *corev1.Pod, when string) string {
	ginkgo.GinkgoHelper()
	r := f.HTTPGet(ctx, p, fmt.Sprintf("http://localhost:%d/state", wire.HTTPPort), framework.RequestTimeout)
	if !r.OK {
		framework.Failf("pod %s/%s (node %s) %s: want the token on its volume (GET /state), got %s", p.Namespace, p.Name, p.Spec.NodeName, when, r)
	}
	return r.Body
}

// claimOf is the claim's UID: the same object, or one made anew.
func claimOf(ctx context.Context, f *framework.Framework, name string) types.UID {
	ginkgo.GinkgoHelper()
	c, err := f.Client.CoreV1().PersistentVolumeClaims(f.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		framework.Failf("read claim %s/%s: %v", f.Namespace, name, err)
	}
	return c.UID
}

// claimOfPod is the claim the pod's "data" volume mounts.
func claimOfPod(p *corev1.Pod) string {
	for _, v := range p.Spec.Volumes {
		if v.Name == "data" && v.PersistentVolumeClaim != nil {
			return v.PersistentVolumeClaim.ClaimName
		}
	}
	return ""
}

func restartsOf(p *corev1.Pod) int32 {
	if len(p.Status.ContainerStatuses) == 0 {
		return 0
	}
	return p.Status.ContainerStatuses[0].RestartCount
}
