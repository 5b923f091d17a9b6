package controlplane

import (
	"context"
	"fmt"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/onsi/ginkgo/v2"

	"github.com/kubeproof/kubeproof/suites/framework"
)

// leaderLeases are the Leases the control plane's leader elections keep.
var leaderLeases = []string{"kube-scheduler", "kube-controller-manager"}

// defaultLeaseDuration is the components' --leader-elect-lease-duration
// default, for a Lease that does not say its own.
const defaultLeaseDuration = 15 * time.Second

func leadersRenew(ctx context.Context, f *framework.Framework) {
	api := f.Client.CoordinationV1().Leases("kube-system")
	var missing []string
	var present []*coordinationv1.Lease
	for _, name := range leaderLeases {
		l, err := api.Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			missing = append(missing, name)
		case err != nil:
			framework.Failf("read Lease kube-system/%s: %v", name, err)
		default:
			present = append(present, l)
		}
	}
	if len(present) == 0 {
		ginkgo.Skip(fmt.Sprintf("not checked: no leader Lease kube-system/%s: this control plane does not publish its leader election (a managed control plane may keep it out of view)", strings.Join(missing, " nor kube-system/")))
	}
	var problems []string
	for _, name := range missing {
		problems = append(problems, fmt.Sprintf("Lease kube-system/%s absent while kube-system/%s is there", name, present[0].Name))
	}
	leases := framework.Follow(ctx, "Leases in kube-system", api, metav1.ListOptions{}, func(l *coordinationv1.LeaseList) []*coordinationv1.Lease { return framework.Ptrs(l.Items) })
	ws := map[string]*watched{}
	longest := time.Duration(0)
	for _, l := range present {
		if ptr.Deref(l.Spec.HolderIdentity, "") == "" {
			problems = append(problems, fmt.Sprintf("Lease kube-system/%s has no holder", l.Name))
			continue
		}
		w := &watched{duration: defaultLeaseDuration, first: renewTime(l)}
		if s := ptr.Deref(l.Spec.LeaseDurationSeconds, 0); s > 0 {
			w.duration = time.Duration(s) * time.Second
		}
		ws[l.Name] = w
		longest = max(longest, w.duration)
	}
	// The next renewal of each must come within its duration of the one
	// read first; the watch ends when every Lease was renewed, or after
	// the longest duration.
	_, err := leases.Until(ctx, longest, func(time.Time) bool {
		all := true
		for name, w := range ws {
			if l := leases.Get(name); l != nil && w.renew.IsZero() && renewTime(l).After(w.first) {
				w.renew = renewTime(l)
			}
			all = all && !w.renew.IsZero()
		}
		return all
	})
	for _, name := range leaderLeases {
		w, ok := ws[name]
		switch {
		case !ok:
		case w.renew.IsZero():
			holder := ""
			if l := leases.Get(name); l != nil {
				holder = ptr.Deref(l.Spec.HolderIdentity, "")
			}
			problems = append(problems, fmt.Sprintf("Lease kube-system/%s not renewed, last renewal %.1fs ago by %s", name, time.Since(w.first).Seconds(), holder))
		case w.renew.Sub(w.first) > w.duration:
			problems = append(problems, fmt.Sprintf("Lease kube-system/%s renewed %.1fs after the renewal before, over its %s", name, w.renew.Sub(w.first).Seconds(), w.duration))
		default:
			framework.Measure(name+" Lease renew interval", w.renew.Sub(w.first).Seconds(), "s")
		}
	}
	if len(problems) > 0 {
		framework.Failf("leader Leases: want each held and renewed within its leaseDurationSeconds (%s), got %s (%v)%s", durations(ws), strings.Join(problems, "; "), err, framework.CutShort(ctx))
	}
}

// renewTime is when the holder last renewed the Lease (or acquired it).
func renewTime(l *coordinationv1.Lease) time.Time {
	switch {
	case l.Spec.RenewTime != nil:
		return l.Spec.RenewTime.Time
	case l.Spec.AcquireTime != nil:
		return l.Spec.AcquireTime.Time
	}
	return time.Time{}
}

// watched is one Lease followed: its duration, the renewal read first
// and the next one.
type watched struct {
	duration     time.Duration
	first, renew time.Time
}

func durations(ws map[string]*watched) string {
	var parts []string
	for _, name := range leaderLeases {
		if w, ok := ws[name]; ok {
			parts = append(parts, fmt.Sprintf("%s %s", name, w.duration))
		}
	}
	return strings.Join(parts, ", ")
}
