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
	var out bytes.Buffer
	cmd := n.Command("ctr", "--namespace=k8s.io", "images", "ls", "name=="+ref)
	cmd.SetStdout(&out)
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("read the digest of %s on node %s: %w", ref, n.String(), err)
	}
	// REF TYPE DIGEST SIZE PLATFORMS LABELS, after a header line.
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	switch {
	case len(lines) == 1:
		return "", nil
	case len(lines) == 2:
		if f := strings.Fields(lines[1]); len(f) >= 3 && strings.HasPrefix(f[2], "sha256:") {
			return f[2], nil
		}
	}
	return "", fmt.Errorf("read the digest of %s on node %s: unexpected `ctr images ls` output %q", ref, n.String(), out.String())
}
