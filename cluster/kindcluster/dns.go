package kindcluster

import (
	"context"
	"fmt"
	"regexp"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// forwardBlock matches CoreDNS's `forward` plugin, with or without a block.
var forwardBlock = regexp.MustCompile(`(?m)^[ \t]*forward[ \t]+[^\n{]*(\{[^}]*\})?[ \t]*\n`)

// IsolateDNS removes the upstream `forward` from the cluster's CoreDNS
// config: traffic must stay on this machine, so names outside the cluster
// fail at once instead of leaving it. CoreDNS's reload plugin applies it
// within a minute; until then kubeproof's node image points CoreDNS's
// upstream at the node itself, where nothing answers.
func IsolateDNS(ctx context.Context, client kubernetes.Interface) error {
	cms := client.CoreV1().ConfigMaps(metav1.NamespaceSystem)
	cm, err := cms.Get(ctx, "coredns", metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get CoreDNS config: %w", err)
	}
	corefile := cm.Data["Corefile"]
	isolated := forwardBlock.ReplaceAllString(corefile, "")
	if isolated == corefile {
		return nil
	}
	cm.Data["Corefile"] = isolated
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update CoreDNS config: %w", err)
	}
	return nil
}
