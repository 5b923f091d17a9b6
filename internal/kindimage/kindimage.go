// Package kindimage puts image archives into kind nodes' containerd (the
// k8s.io namespace the kubelet reads), where the kubelet finds them
// without pulling.
package kindimage

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
)

// Load imports a docker-archive file into node n.
func Load(n nodes.Node, archive string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	return nodeutils.LoadImageArchive(n, f)
}

// Digest returns the digest containerd holds for ref on node n, "" if it
// has no such image.
func Digest(n nodes.Node, ref string) (string, error) {
	images, err := list(n, "name=="+ref)
	if err != nil {
		return "", fmt.Errorf("read the digest of %s on node %s: %w", ref, n.String(), err)
	}
	return images[ref], nil
}

// Images returns every image name containerd holds on node n with its
// digest: one command, where a Digest per name would be one each.
func Images(n nodes.Node) (map[string]string, error) {
	images, err := list(n)
	if err != nil {
		return nil, fmt.Errorf("list the images of node %s: %w", n.String(), err)
	}
	return images, nil
}

// list runs `ctr images ls` on node n with filters (any of them matches).
func list(n nodes.Node, filters ...string) (map[string]string, error) {
	var out bytes.Buffer
	cmd := n.Command("ctr", append([]string{"--namespace=k8s.io", "images", "ls"}, filters...)...)
	cmd.SetStdout(&out)
	if err := cmd.Run(); err != nil {
		return nil, err
	}
	return parseList(out.String())
}

// parseList reads `ctr images ls`: REF TYPE DIGEST SIZE PLATFORMS LABELS,
// after a header line.
func parseList(out string) (map[string]string, error) {
	images := map[string]string{}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) < 3 || !strings.HasPrefix(f[2], "sha256:") {
			return nil, fmt.Errorf("unexpected `ctr images ls` line %q", line)
		}
		images[f[0]] = f[2]
	}
	return images, nil
}
