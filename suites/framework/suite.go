package framework

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/onsi/ginkgo/v2"

	"github.com/kubeproof/kubeproof/fixtures"
)

// Before any spec, one process makes sure the workload image is on the
// nodes and hands its name to the others.
var _ = ginkgo.SynchronizedBeforeSuite(func(ctx context.Context) []byte {
	if Context.WorkloadImage != "" {
		return []byte(Context.WorkloadImage)
	}
	c := client()
	cluster := Context.KindCluster
	if cluster == "" {
		cluster, _ = strings.CutPrefix(c.ContextName, "kind-")
		if cluster == c.ContextName {
			Failf("no --workload-image, and context %q is not a kind cluster to side-load it into: push the workload image (make build; fixtures/workload) to a registry your nodes pull from and pass --workload-image", c.ContextName)
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		Failf("%v", err)
	}
	img, err := fixtures.BuildWorkloadImage(ctx, filepath.Join(cache, "kubeproof"))
	if err != nil {
		Failf("build workload image: %v", err)
	}
	if err := img.LoadIntoKind(cluster); err != nil {
		Failf("%v", err)
	}
	return []byte(img.Ref)
}, func(image []byte) {
	Context.WorkloadImage = string(image)
})
