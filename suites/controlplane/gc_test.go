package controlplane

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// cluster is the ConfigMaps a family's judge sees, by name.
type cluster map[string]*corev1.ConfigMap

func (c cluster) get(name string) *corev1.ConfigMap { return c[name] }

func newFamily(p metav1.DeletionPropagation) (*family, cluster) {
	fam := &family{policy: p, owner: "owner-uid", ownerName: "owner", deps: []string{"dep-1", "dep-2"}}
	c := cluster{"owner": {ObjectMeta: metav1.ObjectMeta{Name: "owner", UID: "owner-uid"}}}
	for _, d := range fam.deps {
		c[d] = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: d, OwnerReferences: []metav1.OwnerReference{{UID: "owner-uid"}}}}
	}
	return fam, c
}

func TestForegroundOwnerMustBeHeldUntilItsDependentsAreGone(t *testing.T) {
	fam, c := newFamily(metav1.DeletePropagationForeground)
	now := metav1.Now()
	c["owner"].DeletionTimestamp, c["owner"].Finalizers = &now, []string{metav1.FinalizerDeleteDependents}
	if fam.judge(c.get) || !fam.held {
		t.Fatal("owner deleting with foregroundDeletion and dependents present: want held, not done")
	}
	delete(c, "dep-1")
	delete(c, "dep-2")
	delete(c, "owner")
	if !fam.judge(c.get) || fam.violation != "" {
		t.Errorf("dependents then owner gone: want done, got violation %q", fam.violation)
	}

	early, c := newFamily(metav1.DeletePropagationForeground)
	delete(c, "owner") // gone at once, dependents still there
	if early.judge(c.get) || !strings.Contains(early.violation, "owner owner deleted without being held") || !strings.Contains(early.violation, "dep-1, dep-2") {
		t.Errorf("owner gone before its dependents: want a violation naming them, got %q", early.violation)
	}
}

func TestOrphanKeepsDependentsWithoutTheReference(t *testing.T) {
	fam, c := newFamily(metav1.DeletePropagationOrphan)
	delete(c, "owner")
	if fam.judge(c.get) {
		t.Fatal("dependents still owned: want not done")
	}
	if got := fam.state(c.get); got != "owner owner deleted, dependents still owned: dep-1, dep-2" {
		t.Errorf("state = %q", got)
	}
	for _, d := range fam.deps {
		c[d].OwnerReferences = nil
	}
	if !fam.judge(c.get) {
		t.Error("owner gone, dependents kept without its reference: want done")
	}
	delete(c, "dep-2")
	lost, _ := newFamily(metav1.DeletePropagationOrphan)
	if lost.judge(c.get) || !strings.Contains(lost.violation, "dependents deleted: want dep-1, dep-2 kept, got only dep-1") {
		t.Errorf("an orphaned dependent deleted: want a violation, got %q", lost.violation)
	}
}

func TestBackgroundStateNamesWhatIsLeft(t *testing.T) {
	fam, c := newFamily(metav1.DeletePropagationBackground)
	delete(c, "owner")
	if fam.judge(c.get) {
		t.Fatal("dependents left: want not done")
	}
	if got := fam.state(c.get); got != "owner owner deleted, dependents still present: dep-1, dep-2" {
		t.Errorf("state = %q", got)
	}
	delete(c, "dep-1")
	delete(c, "dep-2")
	if !fam.judge(c.get) {
		t.Error("all gone: want done")
	}
}
