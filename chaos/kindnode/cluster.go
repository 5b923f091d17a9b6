package kindnode

import (
	"slices"
	"strings"

	"sigs.k8s.io/kind/pkg/cluster"
)

// ClusterFromContext names the kind cluster behind a kubeconfig context,
// if the context is kind's ("kind-<name>") and that cluster exists in this
// machine's Docker; "" otherwise.
func ClusterFromContext(context string) string {
	name, ok := strings.CutPrefix(context, "kind-")
	if !ok {
		return ""
	}
	clusters, err := cluster.NewProvider(cluster.ProviderWithDocker()).List()
	if err != nil || !slices.Contains(clusters, name) {
		return ""
	}
	return name
}
