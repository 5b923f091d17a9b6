package storage

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/utils/ptr"

	"github.com/kubeproof/kubeproof/suites/framework"
)

// bindTimeout bounds provisioning and binding: a cloud disk can take a
// minute to create and attach on a busy cluster.
const bindTimeout = 2 * time.Minute

// The annotations that make a class the default (the beta one is still
// honoured).
var defaultAnnotations = []string{"storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class"}

// defaultClass is the class a claim without one gets: the newest default,
// as the API server picks it. It skips the spec, not checked, when there
// is none.
func defaultClass(ctx context.Context, f *framework.Framework) (*storagev1.StorageClass, []string) {
	ginkgo.GinkgoHelper()
	list, err := f.Client.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		framework.Failf("list StorageClasses: %v", err)
	}
	var defaults []*storagev1.StorageClass
	var all []string
	for i := range list.Items {
		sc := &list.Items[i]
		all = append(all, sc.Name)
		if slices.ContainsFunc(defaultAnnotations, func(a string) bool { return sc.Annotations[a] == "true" }) {
			defaults = append(defaults, sc)
		}
	}
	if len(defaults) == 0 {
		ginkgo.Skip(fmt.Sprintf("not checked: the cluster has no default StorageClass (classes: %s): claims without a class stay Pending, and binding, reclaiming and the other storage checks were not checked", orNone(all)))
	}
	slices.SortFunc(defaults, func(a, b *storagev1.StorageClass) int { return b.CreationTimestamp.Compare(a.CreationTimestamp.Time) })
	var names []string
	for _, sc := range defaults {
		names = append(names, sc.Name)
	}
	return defaults[0], names
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func defaultClassIsSet(ctx context.Context, f *framework.Framework) {
	sc, defaults := defaultClass(ctx, f)
	if len(defaults) > 1 {
		framework.Warn("%d StorageClasses are marked default (%s): claims without a class get the newest, %s", len(defaults), strings.Join(defaults, ", "), sc.Name)
	}
	fmt.Fprintf(ginkgo.GinkgoWriter, "default StorageClass %s: provisioner %s, volumeBindingMode %s, reclaimPolicy %s\n", sc.Name, sc.Provisioner, bindingMode(sc), reclaimPolicy(sc))
}

func bindingMode(sc *storagev1.StorageClass) storagev1.VolumeBindingMode {
	return ptr.Deref(sc.VolumeBindingMode, storagev1.VolumeBindingImmediate)
}

func reclaimPolicy(sc *storagev1.StorageClass) corev1.PersistentVolumeReclaimPolicy {
	return ptr.Deref(sc.ReclaimPolicy, corev1.PersistentVolumeReclaimDelete)
}

// claim creates a 1Mi ReadWriteOnce claim of the default class.
func claim(ctx context.Context, f *framework.Framework, name string) *corev1.PersistentVolumeClaim {
	ginkgo.GinkgoHelper()
	return framework.Create(ctx, f, f.Client.CoreV1().PersistentVolumeClaims(f.Namespace), &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Mi")}},
		},
	})
}

// bind makes the claim bound as the class says: for WaitForFirstConsumer
// it first sees the claim wait (Pending, with the event saying so), then
// starts a pod that mounts it. It returns the bound claim and the time
// from its creation (or the pod's) to bound.
func bind(ctx context.Context, f *framework.Framework, sc *storagev1.StorageClass, name string) (*corev1.PersistentVolumeClaim, time.Duration) {
	ginkgo.GinkgoHelper()
	claims := framework.Follow(ctx, "claims of namespace "+f.Namespace, f.Client.CoreV1().PersistentVolumeClaims(f.Namespace), metav1.ListOptions{},
		func(l *corev1.PersistentVolumeClaimList) []*corev1.PersistentVolumeClaim {
			return framework.Ptrs(l.Items)
		})
	start := time.Now()
	pvc := claim(ctx, f, name)
	if bindingMode(sc) == storagev1.VolumeBindingWaitForFirstConsumer {
		waiting(ctx, f, sc, pvc, claims)
		start = time.Now()
		user := framework.ServerPod(framework.Server{Name: name + "-user"})
		user.Spec.Volumes = append(user.Spec.Volumes, corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: pvc.Name}}})
		user.Spec.Containers[0].VolumeMounts = append(user.Spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: "data", MountPath: "/data"})
		f.WaitPodReady(ctx, framework.Create(ctx, f, f.Pods(), user).Name)
	}
	at, err := claims.Until(ctx, bindTimeout, func(time.Time) bool {
		c := claims.Get(pvc.Name)
		return c != nil && c.Status.Phase == corev1.ClaimBound
	})
	if err != nil {
		framework.Failf("claim %s/%s of StorageClass %s (provisioner %s, %s): want Bound within %s, got %s (%v); events: %s",
			f.Namespace, pvc.Name, sc.Name, sc.Provisioner, bindingMode(sc), bindTimeout, claimState(claims.Get(pvc.Name)), err, claimEvents(ctx, f, pvc.Name))
	}
	return claims.Get(pvc.Name), at.Sub(start)
}

// waiting sees a WaitForFirstConsumer claim wait for its pod: Pending, and
// the event that says why (the binder's judgement, not a guess from time).
func waiting(ctx context.Context, f *framework.Framework, sc *storagev1.StorageClass, pvc *corev1.PersistentVolumeClaim, claims *framework.Tracker[*corev1.PersistentVolumeClaim]) {
	ginkgo.GinkgoHelper()
	framework.WaitFor(ctx, framework.ProgramTimeout, 250*time.Millisecond, fmt.Sprintf("claim %s/%s of StorageClass %s (WaitForFirstConsumer) before any pod uses it", f.Namespace, pvc.Name, sc.Name),
		"Pending with a WaitForFirstConsumer event",
		func(ctx context.Context) (bool, string) {
			c := claims.Get(pvc.Name)
			if c != nil && c.Status.Phase != corev1.ClaimPending {
				framework.Failf("claim %s/%s of StorageClass %s (WaitForFirstConsumer): want Pending until a pod uses it, got %s", f.Namespace, pvc.Name, sc.Name, claimState(c))
			}
			events := claimEvents(ctx, f, pvc.Name)
			return strings.Contains(events, string(storagev1.VolumeBindingWaitForFirstConsumer)), claimState(c) + "; events: " + events
		})
}

func claimState(c *corev1.PersistentVolumeClaim) string {
	if c == nil {
		return "no claim"
	}
	s := string(c.Status.Phase)
	if c.Spec.VolumeName != "" {
		s += " to volume " + c.Spec.VolumeName
	}
	return s
}

// claimEvents lists the claim's events as "Reason: message".
func claimEvents(ctx context.Context, f *framework.Framework, name string) string {
	list, err := f.Client.CoreV1().Events(f.Namespace).List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("involvedObject.name", name).String()})
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, e := range list.Items {
		out = append(out, e.Reason+": "+e.Message)
	}
	return orNone(out)
}

func claimBinds(ctx context.Context, f *framework.Framework) {
	sc, _ := defaultClass(ctx, f)
	_, took := bind(ctx, f, sc, "data")
	framework.Measure(fmt.Sprintf("time to Bound (%s)", bindingMode(sc)), took.Seconds(), "s")
}

func volumeReclaimed(ctx context.Context, f *framework.Framework) {
	sc, _ := defaultClass(ctx, f)
	if reclaimPolicy(sc) != corev1.PersistentVolumeReclaimDelete {
		ginkgo.Skip(fmt.Sprintf("not checked: the default StorageClass %s retains volumes (reclaimPolicy %s): checking would leave a volume behind", sc.Name, reclaimPolicy(sc)))
	}
	pvc, _ := bind(ctx, f, sc, "reclaimed")
	volume := pvc.Spec.VolumeName
	// A pod that used it goes first: a volume in use is not deleted.
	if err := f.Client.CoreV1().Pods(f.Namespace).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: new(int64)}, metav1.ListOptions{}); err != nil {
		framework.Failf("delete the pods of namespace %s: %v", f.Namespace, err)
	}
	volumes := framework.Follow(ctx, "volume "+volume, f.Client.CoreV1().PersistentVolumes(), metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", volume).String()},
		func(l *corev1.PersistentVolumeList) []*corev1.PersistentVolume { return framework.Ptrs(l.Items) })
	start := time.Now()
	if err := f.Client.CoreV1().PersistentVolumeClaims(f.Namespace).Delete(ctx, pvc.Name, metav1.DeleteOptions{}); err != nil {
		framework.Failf("delete claim %s/%s: %v", f.Namespace, pvc.Name, err)
	}
	at, err := volumes.Until(ctx, bindTimeout, func(time.Time) bool { return volumes.Get(volume) == nil })
	if err != nil {
		state := "gone"
		if pv := volumes.Get(volume); pv != nil {
			state = fmt.Sprintf("%s (reclaimPolicy %s)", pv.Status.Phase, pv.Spec.PersistentVolumeReclaimPolicy)
			if pv.Status.Message != "" {
				state += ": " + pv.Status.Message
			}
		}
		framework.Failf("volume %s of deleted claim %s/%s (StorageClass %s, provisioner %s, reclaimPolicy Delete): want it deleted within %s, got %s (%v)",
			volume, f.Namespace, pvc.Name, sc.Name, sc.Provisioner, bindTimeout, state, err)
	}
	framework.Measure("time to volume deleted after its claim", at.Sub(start).Seconds(), "s")
}
