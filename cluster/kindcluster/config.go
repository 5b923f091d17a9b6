package kindcluster

import (
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"

	kindconfigs "github.com/kubeproof/kubeproof/kind-configs"
)

// LoadConfig reads a kind cluster config: a file path, or the name of one
// shipped in kind-configs/ ("" for the default topology).
func LoadConfig(pathOrName string) (*v1alpha4.Cluster, error) {
	var data []byte
	var err error
	switch {
	case pathOrName == "":
		data, err = kindconfigs.FS.ReadFile(kindconfigs.Default)
	case fileExists(pathOrName):
		data, err = os.ReadFile(pathOrName)
	default:
		data, err = kindconfigs.FS.ReadFile(strings.TrimSuffix(pathOrName, ".yaml") + ".yaml")
		if err != nil {
			return nil, fmt.Errorf("kind config %q: no such file, and not one of kubeproof's (%s)", pathOrName, strings.Join(ShippedConfigs(), ", "))
		}
	}
	if err != nil {
		return nil, err
	}
	cfg := &v1alpha4.Cluster{}
	if err := yaml.UnmarshalStrict(data, cfg); err != nil {
		return nil, fmt.Errorf("kind config %s: %w", pathOrName, err)
	}
	if cfg.Kind != "Cluster" || cfg.APIVersion != "kind.x-k8s.io/v1alpha4" {
		return nil, fmt.Errorf("kind config %s: want kind: Cluster, apiVersion: kind.x-k8s.io/v1alpha4, got %q %q", pathOrName, cfg.Kind, cfg.APIVersion)
	}
	if len(cfg.Nodes) == 0 {
		return nil, fmt.Errorf("kind config %s: no nodes", pathOrName)
	}
	return cfg, nil
}

// ShippedConfigs lists the configs in kind-configs/.
func ShippedConfigs() []string {
	entries, _ := kindconfigs.FS.ReadDir(".")
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// cgroupV1 reports whether this host runs the legacy cgroup hierarchy.
func cgroupV1() bool {
	_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	return err != nil
}

// failCgroupV1Patch keeps kubelets >= 1.35 running on cgroup v1 hosts,
// where they refuse to start by default.
const failCgroupV1Patch = `kind: KubeletConfiguration
apiVersion: kubelet.config.k8s.io/v1beta1
failCgroupV1: false
`

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
