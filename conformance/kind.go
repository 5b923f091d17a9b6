package conformance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/kubeproof/kubeproof/internal/kindimage"
	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
)

// SideLoad imports every built image into every node of the kind cluster,
// all nodes at once, under the name the suite runs: with IfNotPresent (the
// suite's pull policy) the kubelet then never pulls. An image of the same
// name already there is replaced, whatever put it there, unless it is this
// archive's (the digest containerd gave it, kept beside the archive).
func SideLoad(ctx context.Context, kindCluster string, images []Image) error {
	list, err := cluster.NewProvider(cluster.ProviderWithDocker()).ListNodes(kindCluster)
	if err != nil {
		return fmt.Errorf("list nodes of kind cluster %s: %w", kindCluster, err)
	}
	if len(list) == 0 {
		return fmt.Errorf("kind cluster %s has no nodes", kindCluster)
	}
	errs := make([]error, len(list))
	var wg sync.WaitGroup
	for i, n := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = loadAll(ctx, n, images)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func loadAll(ctx context.Context, n nodes.Node, images []Image) error {
	for _, img := range images {
		if img.Archive == "" {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		have, err := kindimage.Digest(n, img.Ref)
		if err != nil {
			return err
		}
		if known, err := os.ReadFile(img.Archive + ".digest"); err == nil && have != "" && have == string(known) {
			continue
		}
		if err := kindimage.Load(n, img.Archive); err != nil {
			return fmt.Errorf("load %s into node %s: %w", img.Ref, n.String(), err)
		}
		if have, err = kindimage.Digest(n, img.Ref); err != nil {
			return err
		}
		if have == "" {
			return fmt.Errorf("load %s into node %s: not there after loading it", img.Ref, n.String())
		}
		// The same archive gives the same digest on every node.
		if err := os.WriteFile(img.Archive+".digest", []byte(have), 0o644); err != nil {
			return err
		}
	}
	return nil
}
