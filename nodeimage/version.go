package nodeimage

import (
	"fmt"
	"regexp"
)

type kubeVersion struct {
	Full, Major, Minor string
}

var kubeVersionRE = regexp.MustCompile(`^v(1)\.(\d+)\.(\d+)$`)

func parseKubeVersion(v string) (kubeVersion, error) {
	m := kubeVersionRE.FindStringSubmatch(v)
	if m == nil {
		return kubeVersion{}, fmt.Errorf("kubernetes version %q: want vMAJOR.MINOR.PATCH such as %s", v, DefaultKubernetesVersion)
	}
	return kubeVersion{Full: v, Major: m[1], Minor: m[2]}, nil
}
