package nodeimage

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
)

// ErrVersion marks a Kubernetes version the builder cannot take.
var ErrVersion = errors.New("bad version")

type kubeVersion struct {
	Full, Major, Minor string
}

var kubeVersionRE = regexp.MustCompile(`^v(1)\.(\d+)\.(\d+)$`)

func parseKubeVersion(v string) (kubeVersion, error) {
	m := kubeVersionRE.FindStringSubmatch(v)
	if m == nil {
		return kubeVersion{}, fmt.Errorf("%w: kubernetes version %q: want vMAJOR.MINOR.PATCH such as %s", ErrVersion, v, DefaultKubernetesVersion)
	}
	return kubeVersion{Full: v, Major: m[1], Minor: m[2]}, nil
}

func (v kubeVersion) minor() int {
	n, _ := strconv.Atoi(v.Minor)
	return n
}
