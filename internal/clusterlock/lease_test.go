package clusterlock

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubeproof/kubeproof/fixtures/meta"
	"github.com/kubeproof/kubeproof/internal/proc"
)

// held is a Lease as another run left it.
func held(runID, owner string, renewed time.Time) *coordinationv1.Lease {
	t := metav1.NewMicroTime(renewed)
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: Name, Namespace: Namespace, Annotations: map[string]string{meta.AnnotationOwner: owner}},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &runID, AcquireTime: &t, RenewTime: &t},
	}
}

func holderNow(t *testing.T, c *fake.Clientset) string {
	t.Helper()
	l, err := c.CoordinationV1().Leases(Namespace).Get(context.Background(), Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return *l.Spec.HolderIdentity
}

func TestAcquireFreeCluster(t *testing.T) {
	c := fake.NewClientset()
	l, tookOver, err := Acquire(context.Background(), c, "run-a")
	if err != nil || tookOver != "" {
		t.Fatalf("want the Lease, got %v %q", err, tookOver)
	}
	got, _ := c.CoordinationV1().Leases(Namespace).Get(context.Background(), Name, metav1.GetOptions{})
	if got.Labels[meta.LabelRunID] != "run-a" || got.Annotations[meta.AnnotationOwner] != proc.Owner(os.Getpid()) {
		t.Errorf("the Lease must carry the run's labels and owner: %v %v", got.Labels, got.Annotations)
	}
	if err := l.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoordinationV1().Leases(Namespace).Get(context.Background(), Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Release must delete the Lease, got %v", err)
	}
}

func TestAcquireRefusesLiveHolder(t *testing.T) {
	for name, owner := range map[string]string{
		"live process here":           proc.Owner(os.Getppid()),
		"process on another machine":  "elsewhere.example/42",
		"holder with no owner record": "",
	} {
		t.Run(name, func(t *testing.T) {
			c := fake.NewClientset(held("run-a", owner, time.Now().Add(-10*time.Second)))
			_, _, err := Acquire(context.Background(), c, "run-b")
			if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "run run-a") {
				t.Fatalf("want busy naming run-a, got %v", err)
			}
			if holderNow(t, c) != "run-a" {
				t.Error("a refused run must not touch the Lease")
			}
			if err := Check(context.Background(), c, "manual"); !errors.Is(err, ErrBusy) {
				t.Errorf("Check: want busy, got %v", err)
			}
		})
	}
}

func TestAcquireTakesOverStaleHolder(t *testing.T) {
	for name, lease := range map[string]*coordinationv1.Lease{
		"not renewed for longer than the lease": held("run-a", "elsewhere.example/42", time.Now().Add(-2*Duration)),
		"its process here is gone":              held("run-a", proc.Owner(deadPID(t)), time.Now()),
	} {
		t.Run(name, func(t *testing.T) {
			c := fake.NewClientset(lease)
			l, tookOver, err := Acquire(context.Background(), c, "run-b")
			if err != nil || !strings.Contains(tookOver, "run run-a") {
				t.Fatalf("want run-a's stale Lease taken over, got %v %q", err, tookOver)
			}
			defer l.Release(context.Background())
			if holderNow(t, c) != "run-b" {
				t.Error("the Lease must name the new holder")
			}
		})
	}
}

// Two runs in the same moment: both read no Lease, one create wins, the
// other is told who won.
func TestAcquireRaceLosesToTheOtherRun(t *testing.T) {
	c := fake.NewClientset()
	c.PrependReactor("create", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
		_ = c.Tracker().Add(held("run-a", proc.Owner(os.Getppid()), time.Now()))
		return true, nil, apierrors.NewAlreadyExists(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, Name)
	})
	_, _, err := Acquire(context.Background(), c, "run-b")
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "run run-a") {
		t.Fatalf("want busy naming run-a, got %v", err)
	}
}

func TestReleaseReportsATakeover(t *testing.T) {
	c := fake.NewClientset()
	l, _, err := Acquire(context.Background(), c, "run-a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoordinationV1().Leases(Namespace).Update(context.Background(), held("run-b", "elsewhere.example/1", time.Now()), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(context.Background()); err == nil || !strings.Contains(err.Error(), "run run-b") {
		t.Fatalf("want the takeover reported, got %v", err)
	}
	if holderNow(t, c) != "run-b" {
		t.Error("Release must not delete another run's Lease")
	}
}

func TestRemoveStale(t *testing.T) {
	live := held("run-a", "elsewhere.example/42", time.Now())
	c := fake.NewClientset(live)
	removed, left, err := RemoveStale(context.Background(), c, "", false)
	if err != nil || removed != "" || !strings.Contains(left, "run run-a") {
		t.Fatalf("a live run's Lease stays: removed %q left %q err %v", removed, left, err)
	}
	if removed, _, _ := RemoveStale(context.Background(), c, "run-other", true); removed != "" {
		t.Fatalf("--run-id of another run must not remove it, removed %q", removed)
	}
	if removed, _, err := RemoveStale(context.Background(), c, "", true); err != nil || removed == "" {
		t.Fatalf("--force removes it: %q %v", removed, err)
	}
	c = fake.NewClientset(held("run-a", proc.Owner(deadPID(t)), time.Now()))
	if removed, _, err := RemoveStale(context.Background(), c, "run-a", false); err != nil || removed == "" {
		t.Fatalf("a gone run's Lease is removed: %q %v", removed, err)
	}
}

func TestKindLock(t *testing.T) {
	t.Setenv("KUBEPROOF_STATE_DIR", t.TempDir())
	a, err := Kind("c1", "run A")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Kind("c1", "cluster delete"); !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "run A") {
		t.Fatalf("want busy naming run A, got %v", err)
	}
	b, err := Kind("c2", "run B")
	if err != nil {
		t.Fatalf("another cluster name is free: %v", err)
	}
	b.Unlock()
	a.Unlock()
	again, err := Kind("c1", "cluster delete")
	if err != nil {
		t.Fatalf("free after Unlock: %v", err)
	}
	again.Unlock()
}

// deadPID is the PID of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	return p.Pid
}
