package runner

import (
	"context"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/reporters/results"
)

// fingerprint records what the cluster is made of, so that a report says
// exactly what was certified. Nothing here is required: a field stays
// empty when the identity may not read it.
func fingerprint(ctx context.Context, c *kube.Client, fp *results.Cluster) {
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err == nil {
		for _, n := range nodes.Items {
			var roles []string
			for l := range n.Labels {
				if r, ok := strings.CutPrefix(l, "node-role.kubernetes.io/"); ok {
					roles = append(roles, r)
				}
			}
			sort.Strings(roles)
			info := n.Status.NodeInfo
			fp.Nodes = append(fp.Nodes, results.Node{
				Name: n.Name, Roles: roles, KubeletVersion: info.KubeletVersion, OSImage: info.OSImage,
				KernelVersion: info.KernelVersion, ContainerRuntime: info.ContainerRuntimeVersion,
				ProviderID: n.Spec.ProviderID, Ready: kube.NodeReady(&n),
			})
		}
		if len(fp.Nodes) > 0 {
			fp.Provider = providerOf(fp.Nodes[0].ProviderID)
		}
	}
	ds, err := c.AppsV1().DaemonSets("kube-system").List(ctx, metav1.ListOptions{})
	if err == nil {
		for _, d := range ds.Items {
			if cni := cniOf(d.Name); cni != "" {
				fp.CNI = cni
			}
		}
	}
	fp.KubeProxyMode = "absent"
	if cm, err := c.CoreV1().ConfigMaps("kube-system").Get(ctx, "kube-proxy", metav1.GetOptions{}); err == nil {
		fp.KubeProxyMode = "iptables"
		for _, line := range strings.Split(cm.Data["config.conf"], "\n") {
			if m, ok := strings.CutPrefix(strings.TrimSpace(line), "mode:"); ok {
				if m = strings.Trim(strings.TrimSpace(m), `"'`); m != "" {
					fp.KubeProxyMode = m
				}
			}
		}
	}
}

// providerOf reads the cloud from a node's providerID scheme.
func providerOf(providerID string) string {
	scheme, _, _ := strings.Cut(providerID, "://")
	switch scheme {
	case "kind":
		return "kind"
	case "aws":
		return "EKS (aws)"
	case "gce":
		return "GKE (gce)"
	case "azure":
		return "AKS (azure)"
	case "":
		return "unknown (no providerID)"
	}
	return scheme
}

// cniOf recognises well-known CNI DaemonSets by name.
func cniOf(daemonSet string) string {
	for _, known := range []string{"kubeproof-net", "kindnet", "cilium", "calico-node", "kube-flannel", "aws-node", "azure-cni", "weave-net", "antrea-agent"} {
		if strings.HasPrefix(daemonSet, known) {
			return known
		}
	}
	return ""
}
