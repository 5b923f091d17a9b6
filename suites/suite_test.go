package suites_test

import (
	"testing"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"

	// The suites register their specs when imported.
	_ "github.com/kubeproof/kubeproof/suites/controlplane"
	_ "github.com/kubeproof/kubeproof/suites/networking"
	_ "github.com/kubeproof/kubeproof/suites/nodes"
	_ "github.com/kubeproof/kubeproof/suites/pods"
	_ "github.com/kubeproof/kubeproof/suites/resilience"
	_ "github.com/kubeproof/kubeproof/suites/services"
	_ "github.com/kubeproof/kubeproof/suites/storage"
	_ "github.com/kubeproof/kubeproof/suites/upgrade"
	_ "github.com/kubeproof/kubeproof/suites/workloads"
)

// TestSuites runs kubeproof's specs against the cluster of --kubeconfig
// (see suites/contract/settings.go for the flags):
//
//	ginkgo -p ./suites -- --kubeconfig ~/.kube/kubeproof-kubeproof.yaml
func TestSuites(t *testing.T) {
	gomega.RegisterFailHandler(ginkgo.Fail)
	ginkgo.RunSpecs(t, "kubeproof")
}
