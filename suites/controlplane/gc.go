package controlplane

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/kubeproof/kubeproof/suites/framework"
)

// gcTimeout bounds each policy's outcome: the garbage collector acts on
// its informers' events, within a second on a loaded 2-core machine.
const gcTimeout = 30 * time.Second

// dependents is how many dependents each owner gets.
const dependents = 2

// family is one owner, its dependents and the policy it is deleted with.
type family struct {
	policy    metav1.DeletionPropagation
	owner     types.UID
	ownerName string
	deps      []string
	// held: a Foreground owner was seen deleting (foregroundDeletion)
	// while a dependent still existed.
	held bool
	// done is when the policy's outcome was complete; violation what broke
	// it, if anything did.
	done      time.Time
	violation string
}

func collectsGarbage(ctx context.Context, f *framework.Framework) {
	api := f.Client.CoreV1().ConfigMaps(f.Namespace)
	cms := framework.Follow(ctx, "ConfigMaps of namespace "+f.Namespace, api, metav1.ListOptions{}, func(l *corev1.ConfigMapList) []*corev1.ConfigMap { return framework.Ptrs(l.Items) })
	var fams []*family
	for _, p := range []metav1.DeletionPropagation{metav1.DeletePropagationBackground, metav1.DeletePropagationForeground, metav1.DeletePropagationOrphan} {
		name := strings.ToLower(string(p))
		owner := framework.Create(ctx, f, api, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name + "-owner"}})
		fam := &family{policy: p, owner: owner.UID, ownerName: owner.Name}
		for i := range dependents {
			dep := framework.Create(ctx, f, api, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
				Name: fmt.Sprintf("%s-dependent-%d", name, i+1),
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID,
					BlockOwnerDeletion: ptr.To(true)}},
			}})
			fam.deps = append(fam.deps, dep.Name)
		}
		fams = append(fams, fam)
	}
	// The watch has seen every object before the owners go, so that each
	// state it judges is one the cluster was in.
	if _, err := cms.Until(ctx, framework.ProgramTimeout, func(time.Time) bool {
		for _, fam := range fams {
			for _, name := range append([]string{fam.ownerName}, fam.deps...) {
				if cms.Get(name) == nil {
					return false
				}
			}
		}
		return true
	}); err != nil {
		framework.Failf("ConfigMaps of namespace %s: want the %d created seen by a watch within %s, got %v", f.Namespace, len(fams)*(1+dependents), framework.ProgramTimeout, err)
	}
	// The owners and their dependents are one kind, on one watch: the
	// collector sees each dependent before its owner's deletion.
	start := time.Now()
	for _, fam := range fams {
		if err := api.Delete(ctx, fam.ownerName, metav1.DeleteOptions{PropagationPolicy: &fam.policy}); err != nil {
			framework.Failf("delete ConfigMap %s/%s (%s): %v", f.Namespace, fam.ownerName, fam.policy, err)
		}
	}
	_, err := cms.Until(ctx, gcTimeout, func(at time.Time) bool {
		all := true
		for _, fam := range fams {
			if fam.done.IsZero() && fam.violation == "" && fam.judge(cms.Get) {
				fam.done = at
			}
			all = all && (!fam.done.IsZero() || fam.violation != "")
		}
		return all
	})
	var problems []string
	for _, fam := range fams {
		switch {
		case fam.violation != "":
			problems = append(problems, fmt.Sprintf("%s: %s", fam.policy, fam.violation))
		case fam.done.IsZero():
			problems = append(problems, fmt.Sprintf("%s: %s", fam.policy, fam.state(cms.Get)))
		default:
			framework.Measure(fmt.Sprintf("%s deletion complete", fam.policy), fam.done.Sub(start).Seconds(), "s")
		}
	}
	if len(problems) > 0 {
		framework.Failf("garbage collection in namespace %s: want within %s Background: owner and dependents deleted, Foreground: owner held until its dependents are deleted, then deleted, Orphan: owner deleted and dependents kept without its reference, got %s (%v)%s",
			f.Namespace, gcTimeout, strings.Join(problems, "; "), err, framework.CutShort(ctx))
	}
}

// judge reports whether the family's outcome is complete, and records a
// violation of its policy (a Foreground owner gone before its dependents,
// an Orphan's dependent deleted).
func (fam *family) judge(get func(string) *corev1.ConfigMap) bool {
	owner := get(fam.ownerName)
	if owner != nil && owner.UID != fam.owner {
		owner = nil
	}
	left, owned := fam.dependents(get)
	switch fam.policy {
	case metav1.DeletePropagationForeground:
		if owner != nil && owner.DeletionTimestamp != nil && slices.Contains(owner.Finalizers, metav1.FinalizerDeleteDependents) && len(left) > 0 {
			fam.held = true
		}
		if owner == nil && (len(left) > 0 || !fam.held) {
			fam.violation = fmt.Sprintf("owner %s deleted without being held (foregroundDeletion) until its dependents were deleted; dependents left: %s", fam.ownerName, list(left))
			return false
		}
		return owner == nil && len(left) == 0
	case metav1.DeletePropagationOrphan:
		if len(left) < len(fam.deps) {
			fam.violation = fmt.Sprintf("dependents deleted: want %s kept, got only %s", strings.Join(fam.deps, ", "), strings.Join(left, ", "))
			return false
		}
		return owner == nil && len(owned) == 0
	}
	return owner == nil && len(left) == 0
}

// dependents lists the family's dependents still there, and those of
// them still referring to the owner.
func (fam *family) dependents(get func(string) *corev1.ConfigMap) (left, owned []string) {
	for _, d := range fam.deps {
		if c := get(d); c != nil {
			left = append(left, d)
			if slices.ContainsFunc(c.OwnerReferences, func(r metav1.OwnerReference) bool { return r.UID == fam.owner }) {
				owned = append(owned, d)
			}
		}
	}
	return left, owned
}

// state says where an incomplete family stands, naming its objects.
func (fam *family) state(get func(string) *corev1.ConfigMap) string {
	left, owned := fam.dependents(get)
	owner := "owner " + fam.ownerName + " deleted"
	if o := get(fam.ownerName); o != nil && o.UID == fam.owner {
		owner = fmt.Sprintf("owner %s still present (finalizers %v)", fam.ownerName, o.Finalizers)
	}
	switch fam.policy {
	case metav1.DeletePropagationOrphan:
		return fmt.Sprintf("%s, dependents still owned: %s", owner, list(owned))
	case metav1.DeletePropagationForeground:
		if !fam.held && len(left) > 0 {
			owner += " (never seen held with foregroundDeletion)"
		}
	}
	return fmt.Sprintf("%s, dependents still present: %s", owner, list(left))
}

func list(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
