package controlplane

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/onsi/ginkgo/v2"

	"github.com/kubeproof/kubeproof/fixtures/meta"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/suites/framework"
)

// staleUpdateRefused updates a ConfigMap, then sends an update built on
// the version before: the API server must refuse it with 409 Conflict and
// keep the newer data.
func staleUpdateRefused(ctx context.Context, f *framework.Framework) {
	api := f.Client.CoreV1().ConfigMaps(f.Namespace)
	cm := framework.Create(ctx, f, api, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "versioned"}, Data: map[string]string{"value": "first"}})
	fresh := cm.DeepCopy()
	fresh.Data["value"] = "second"
	if _, err := api.Update(ctx, fresh, metav1.UpdateOptions{}); err != nil {
		framework.Failf("update ConfigMap %s/%s with its current resourceVersion: %v", f.Namespace, cm.Name, err)
	}
	stale := cm.DeepCopy()
	stale.Data["value"] = "stale"
	_, err := api.Update(ctx, stale, metav1.UpdateOptions{})
	now, getErr := api.Get(ctx, cm.Name, metav1.GetOptions{})
	if getErr != nil {
		framework.Failf("read ConfigMap %s/%s after a stale update: %v", f.Namespace, cm.Name, getErr)
	}
	if !apierrors.IsConflict(err) || now.Data["value"] != "second" {
		framework.Failf("update of ConfigMap %s/%s carrying the resourceVersion before its last update: want 409 Conflict and value %q kept, got %s and value %q",
			f.Namespace, cm.Name, "second", outcome(err), now.Data["value"])
	}
}

// The field managers of the server-side apply check.
const (
	applier = "kubeproof-applier"
	rival   = "kubeproof-rival"
)

// appliesWithManagers takes one ConfigMap through server-side apply by two
// managers: the fields each applies are recorded as its own, a rival's
// apply of an owned field is refused with a conflict naming the owner
// unless forced, a forced apply takes the field over, and a field its
// only manager stops applying is removed.
func appliesWithManagers(ctx context.Context, f *framework.Framework) {
	api := f.Client.CoreV1().ConfigMaps(f.Namespace)
	const name = "applied"
	apply := func(manager string, force bool, data map[string]string) (*corev1.ConfigMap, error) {
		cfg := corev1ac.ConfigMap(name, f.Namespace).WithLabels(framework.RunLabels()).WithData(data)
		return api.Apply(ctx, cfg, metav1.ApplyOptions{FieldManager: manager, Force: force})
	}
	fail := func(step, want, got string) {
		ginkgo.GinkgoHelper()
		framework.Failf("server-side apply to ConfigMap %s/%s, %s: want %s, got %s", f.Namespace, name, step, want, got)
	}
	cm, err := apply(applier, false, map[string]string{"own": "a", "shared": "a"})
	if err != nil {
		fail(applier+" applies data.own and data.shared", "applied", outcome(err))
	}
	if got := owners(cm, "shared"); !slices.Equal(got, []string{applier}) {
		fail(applier+" applied data.shared", "it recorded as its only manager", describeOwners(got))
	}
	_, err = apply(rival, false, map[string]string{"shared": "b"})
	now, getErr := api.Get(ctx, name, metav1.GetOptions{})
	if getErr != nil {
		fail("read after "+rival+"'s apply", "the object", outcome(getErr))
	}
	if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), applier) || now.Data["shared"] != "a" {
		fail(rival+" applies data.shared owned by "+applier+", unforced", fmt.Sprintf("409 Conflict naming %s and data.shared kept %q", applier, "a"),
			fmt.Sprintf("%s and data.shared %q", outcome(err), now.Data["shared"]))
	}
	cm, err = apply(rival, true, map[string]string{"shared": "b"})
	if err != nil || cm.Data["shared"] != "b" || !slices.Equal(owners(cm, "shared"), []string{rival}) || !slices.Equal(owners(cm, "own"), []string{applier}) {
		fail(rival+" applies data.shared, forced", fmt.Sprintf("data.shared %q managed by %s alone, data.own still by %s", "b", rival, applier),
			fmt.Sprintf("%s, data.shared %q managed by %s, data.own by %s", outcome(err), value(cm, "shared"), describeOwners(owners(cm, "shared")), describeOwners(owners(cm, "own"))))
	}
	cm, err = apply(applier, false, map[string]string{})
	if err != nil || cm.Data["own"] != "" || cm.Data["shared"] != "b" {
		fail(applier+" applies without data.own, which only it managed", fmt.Sprintf("data.own removed and data.shared %q kept", "b"),
			fmt.Sprintf("%s, data.own %q, data.shared %q", outcome(err), value(cm, "own"), value(cm, "shared")))
	}
}

// holdFinalizer is the finalizer the finalizer check puts on its object;
// nothing but the check itself (or a sweep after a killed run) removes it.
const holdFinalizer = meta.FinalizerHold

// finalizerHolds deletes a ConfigMap that carries a finalizer: it must
// stay, marked for deletion, until the finalizer is removed, and go then.
func finalizerHolds(ctx context.Context, f *framework.Framework) {
	api := f.Client.CoreV1().ConfigMaps(f.Namespace)
	cm := framework.Create(ctx, f, api, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "held", Finalizers: []string{holdFinalizer}}})
	// A namespace holding it could not be deleted: the finalizer goes
	// whatever becomes of the spec (registered after the object's own
	// deletion, so it runs before it).
	ginkgo.DeferCleanup(func(ctx context.Context) {
		if err := kube.ReleaseFinalizer(ctx, f.Client, f.Namespace, holdFinalizer); err != nil {
			framework.Warn("%v", err)
		}
	})
	cms := framework.Follow(ctx, "ConfigMaps of namespace "+f.Namespace, api, metav1.ListOptions{FieldSelector: "metadata.name=" + cm.Name},
		func(l *corev1.ConfigMapList) []*corev1.ConfigMap { return framework.Ptrs(l.Items) })
	if err := api.Delete(ctx, cm.Name, metav1.DeleteOptions{}); err != nil {
		framework.Failf("delete ConfigMap %s/%s: %v", f.Namespace, cm.Name, err)
	}
	held, err := api.Get(ctx, cm.Name, metav1.GetOptions{})
	if err != nil || held.UID != cm.UID || held.DeletionTimestamp == nil || !slices.Contains(held.Finalizers, holdFinalizer) {
		framework.Failf("ConfigMap %s/%s deleted while it carried finalizer %s (set when created): want it kept, marked for deletion, until the finalizer is removed, got %s",
			f.Namespace, cm.Name, holdFinalizer, describeHeld(held, err, cm.UID))
	}
	start := time.Now()
	if err := kube.ReleaseFinalizer(ctx, f.Client, f.Namespace, holdFinalizer); err != nil {
		framework.Failf("remove finalizer %s from ConfigMap %s/%s: %v", holdFinalizer, f.Namespace, cm.Name, err)
	}
	at, err := cms.Until(ctx, gcTimeout, func(time.Time) bool { return cms.Get(cm.Name) == nil })
	if err != nil {
		framework.Failf("ConfigMap %s/%s marked for deletion, its last finalizer removed: want it deleted within %s, got it still there (%v)%s",
			f.Namespace, cm.Name, gcTimeout, err, framework.CutShort(ctx))
	}
	framework.Measure("deleted after its finalizer was removed", at.Sub(start).Seconds()*1000, "ms")
}

func describeHeld(cm *corev1.ConfigMap, err error, uid types.UID) string {
	switch {
	case apierrors.IsNotFound(err):
		return "it gone at once"
	case err != nil:
		return err.Error()
	case cm.UID != uid:
		return "another object of that name"
	}
	return fmt.Sprintf("deletionTimestamp %v, finalizers %v", cm.DeletionTimestamp, cm.Finalizers)
}

// owners lists the managers that own data.<key> of cm.
func owners(cm *corev1.ConfigMap, key string) []string {
	if cm == nil {
		return nil
	}
	var out []string
	for _, m := range cm.ManagedFields {
		if m.FieldsV1 == nil {
			continue
		}
		var fields map[string]map[string]any
		if json.Unmarshal(m.FieldsV1.Raw, &fields) != nil {
			continue
		}
		if _, ok := fields["f:data"]["f:"+key]; ok {
			out = append(out, m.Manager)
		}
	}
	slices.Sort(out)
	return out
}

func describeOwners(ms []string) string {
	if len(ms) == 0 {
		return "no manager"
	}
	return strings.Join(ms, " and ")
}

func value(cm *corev1.ConfigMap, key string) string {
	if cm == nil {
		return ""
	}
	return cm.Data[key]
}

// outcome is an API call's result in a failure line.
func outcome(err error) string {
	if err == nil {
		return "success"
	}
	return strings.ReplaceAll(err.Error(), "\n", " ")
}
