// Package clusterlock keeps two kubeproof runs off one cluster. A run holds
// a Lease in the cluster (kube-system/kubeproof-run) from before it
// creates anything until it has swept up, renewing it while it lives; a
// second run, or a `chaos inject`, is refused with the holder's name. A
// holder that stopped renewing (killed, or its machine gone) loses the
// Lease after Duration, at once if it was a process on this machine that
// is gone. For kind clusters a file lock on this machine (Kind) also keeps
// `cluster create`/`delete` off a cluster a run is using.
package clusterlock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeproof/kubeproof/fixtures/meta"
	"github.com/kubeproof/kubeproof/internal/proc"
)

// Where the Lease lives, and how long a holder that stopped renewing keeps
// it. Leader-election Leases live in kube-system too.
const (
	Namespace = "kube-system"
	Name      = "kubeproof-run"
	Duration  = 60 * time.Second
)

// renewEvery: four chances to renew before the Lease lapses, so that an
// API server down for a few seconds (a control-plane fault) costs nothing.
const renewEvery = Duration / 4

// ErrBusy: another run holds the cluster (exit code 4).
var ErrBusy = errors.New("cluster in use by another kubeproof run")

// Holder is who holds the Lease.
type Holder struct {
	RunID   string
	Owner   string // the process, "host/pid"
	Since   time.Time
	Renewed time.Time
}

func (h Holder) String() string {
	s := "run " + h.RunID
	if h.Owner != "" {
		s += " (process " + h.Owner + ")"
	}
	if !h.Since.IsZero() {
		s += ", since " + h.Since.UTC().Format("15:04:05 UTC")
	}
	return s
}

// stale says why h no longer holds the Lease, or "" while it does.
func (h Holder) stale(now time.Time) string {
	if h.RunID == "" {
		return "it names no holder"
	}
	if idle := now.Sub(h.Renewed); idle > Duration {
		return fmt.Sprintf("not renewed for %s (lease %s)", idle.Round(time.Second), Duration)
	}
	if h.Owner != "" && !proc.LiveOwner(h.Owner) && h.Owner != proc.Owner(os.Getpid()) {
		return "its process " + h.Owner + " is gone"
	}
	return ""
}

func holderOf(l *coordinationv1.Lease) Holder {
	h := Holder{Owner: l.Annotations[meta.AnnotationOwner]}
	if l.Spec.HolderIdentity != nil {
		h.RunID = *l.Spec.HolderIdentity
	}
	if l.Spec.AcquireTime != nil {
		h.Since = l.Spec.AcquireTime.Time
	}
	if l.Spec.RenewTime != nil {
		h.Renewed = l.Spec.RenewTime.Time
	}
	return h
}

func busy(h Holder) error {
	return fmt.Errorf("%w: %s holds the Lease %s/%s; wait for it to end (kubeproof cleanup --force removes the Lease of a run that is gone elsewhere)", ErrBusy, h, Namespace, Name)
}

// Lease is a held cluster lock; Release gives it back.
type Lease struct {
	leases  leaseClient
	runID   string
	stop    context.CancelFunc
	stopped chan struct{}

	mu   sync.Mutex
	lost string // why the Lease was lost while held, if it was
}

type leaseClient interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*coordinationv1.Lease, error)
	Create(ctx context.Context, l *coordinationv1.Lease, opts metav1.CreateOptions) (*coordinationv1.Lease, error)
	Update(ctx context.Context, l *coordinationv1.Lease, opts metav1.UpdateOptions) (*coordinationv1.Lease, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
}

// Acquire takes the cluster's Lease for runID, or fails with ErrBusy naming
// the run that holds it. tookOver names a stale holder it replaced ("" if
// none). The Lease is renewed until Release.
func Acquire(ctx context.Context, c kubernetes.Interface, runID string) (l *Lease, tookOver string, err error) {
	leases := c.CoordinationV1().Leases(Namespace)
	now := metav1.NewMicroTime(time.Now())
	seconds := int32(Duration / time.Second)
	want := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{
			Name: Name, Labels: meta.RunLabels(runID),
			Annotations: map[string]string{meta.AnnotationOwner: proc.Owner(os.Getpid())},
		},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: &runID, LeaseDurationSeconds: &seconds, AcquireTime: &now, RenewTime: &now},
	}
	cur, err := leases.Get(ctx, Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = leases.Create(ctx, want, metav1.CreateOptions{})
	case err != nil:
		return nil, "", fmt.Errorf("read the Lease %s/%s: %w", Namespace, Name, err)
	default:
		h := holderOf(cur)
		why := h.stale(now.Time)
		if why == "" {
			return nil, "", busy(h)
		}
		tookOver = fmt.Sprintf("%s: %s", h, why)
		want.ResourceVersion = cur.ResourceVersion
		_, err = leases.Update(ctx, want, metav1.UpdateOptions{})
	}
	if apierrors.IsAlreadyExists(err) || apierrors.IsConflict(err) {
		// Another run got there first, between our read and our write.
		if cur, gerr := leases.Get(ctx, Name, metav1.GetOptions{}); gerr == nil {
			return nil, "", busy(holderOf(cur))
		}
		return nil, "", fmt.Errorf("%w: another run took the Lease %s/%s at the same moment", ErrBusy, Namespace, Name)
	}
	if err != nil {
		return nil, "", fmt.Errorf("take the Lease %s/%s: %w", Namespace, Name, err)
	}
	renewCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	l = &Lease{leases: leases, runID: runID, stop: stop, stopped: make(chan struct{})}
	go l.renew(renewCtx)
	return l, tookOver, nil
}

// renew keeps the Lease fresh; failures are retried at the next tick (the
// API server may be down for a moment during control-plane faults).
func (l *Lease) renew(ctx context.Context) {
	defer close(l.stopped)
	tick := time.NewTicker(renewEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		cur, err := l.leases.Get(ctx, Name, metav1.GetOptions{})
		if err != nil {
			continue
		}
		if h := holderOf(cur); h.RunID != l.runID {
			l.mu.Lock()
			l.lost = fmt.Sprintf("%s took it over", h)
			l.mu.Unlock()
			return
		}
		now := metav1.NewMicroTime(time.Now())
		cur.Spec.RenewTime = &now
		_, _ = l.leases.Update(ctx, cur, metav1.UpdateOptions{})
	}
}

// Release stops renewing and deletes the Lease if this run still holds
// it; it says so if another run took it over meanwhile.
func (l *Lease) Release(ctx context.Context) error {
	l.stop()
	<-l.stopped
	l.mu.Lock()
	lost := l.lost
	l.mu.Unlock()
	if lost != "" {
		return fmt.Errorf("the cluster's Lease %s/%s was lost during the run: %s", Namespace, Name, lost)
	}
	cur, err := l.leases.Get(ctx, Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("release the Lease %s/%s: %w", Namespace, Name, err)
	}
	if h := holderOf(cur); h.RunID != l.runID {
		return fmt.Errorf("the cluster's Lease %s/%s was lost during the run: %s took it over", Namespace, Name, h)
	}
	err = l.leases.Delete(ctx, Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &cur.UID, ResourceVersion: &cur.ResourceVersion}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("release the Lease %s/%s: %w", Namespace, Name, err)
	}
	return nil
}

// Check fails with ErrBusy while a live run other than runID holds the
// cluster; for commands (chaos inject) that must not act under a run.
func Check(ctx context.Context, c kubernetes.Interface, runID string) error {
	cur, err := c.CoordinationV1().Leases(Namespace).Get(ctx, Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the Lease %s/%s: %w", Namespace, Name, err)
	}
	if h := holderOf(cur); h.RunID != runID && h.stale(time.Now()) == "" {
		return busy(h)
	}
	return nil
}

// RemoveStale deletes the Lease of a run that is gone (or, with force, of
// any run; runID "" = any run's). It returns what it removed and what it
// left to a live run, each "" if nothing.
func RemoveStale(ctx context.Context, c kubernetes.Interface, runID string, force bool) (removed, left string, err error) {
	leases := c.CoordinationV1().Leases(Namespace)
	cur, err := leases.Get(ctx, Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("read the Lease %s/%s: %w", Namespace, Name, err)
	}
	h := holderOf(cur)
	if runID != "" && h.RunID != runID {
		return "", "", nil
	}
	what := fmt.Sprintf("Lease %s/%s of %s", Namespace, Name, h)
	if h.stale(time.Now()) == "" && !force {
		return "", what, nil
	}
	err = leases.Delete(ctx, Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &cur.UID, ResourceVersion: &cur.ResourceVersion}})
	if err != nil && !apierrors.IsNotFound(err) {
		return "", "", fmt.Errorf("delete the %s: %w", what, err)
	}
	return what, "", nil
}
