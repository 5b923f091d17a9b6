package conformance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
)

// SideLoad imports every built image into every node of the kind cluster,
// all nodes at once, under the name the suite runs: with IfNotPresent (the
// suite's pull policy) the kubelet then never pulls. An image of the same
// name already there is replaced, whatever put it there.
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
		f, err := os.Open(img.Archive)
		if err != nil {
			return err
		}
		err = nodeutils.LoadImageArchive(n, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("load %s into node %s: %w", img.Ref, n.String(), err)
		}
	}
	return nil
}
