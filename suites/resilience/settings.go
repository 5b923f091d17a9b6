package resilience

import (
	"context"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeproof/kubeproof/internal/kube"
)

// timing is what the control plane promises about a failed node; the
// bounds of every phase derive from it.
type timing struct {
	// GracePeriod: how long a node may stay silent before it is NotReady
	// (kube-controller-manager --node-monitor-grace-period).
	GracePeriod time.Duration
	// Source says where GracePeriod came from.
	Source string
}

// upstreamGracePeriod is kube-controller-manager's default since 1.32.
const upstreamGracePeriod = 50 * time.Second

// readTiming reads --node-monitor-grace-period from the controller
// manager's static pod when the cluster shows it (kubeadm, kind), and
// falls back to the upstream default (managed clusters hide it).
func readTiming(ctx context.Context, c *kube.Client) timing {
	pods, err := c.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "component=kube-controller-manager"})
	if err == nil {
		for _, p := range pods.Items {
			for _, ctr := range p.Spec.Containers {
				for _, arg := range append(ctr.Command, ctr.Args...) {
					if v, ok := strings.CutPrefix(arg, "--node-monitor-grace-period="); ok {
						if d, err := time.ParseDuration(v); err == nil {
							return timing{GracePeriod: d, Source: "kube-controller-manager " + arg}
						}
					}
				}
			}
			return timing{GracePeriod: upstreamGracePeriod, Source: "upstream default (not set on kube-controller-manager)"}
		}
	}
	return timing{GracePeriod: upstreamGracePeriod, Source: "upstream default (kube-controller-manager not visible)"}
}
