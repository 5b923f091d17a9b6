package framework

import (
	"flag"
	"os"
)

// TestContext is what the runner (`kubeproof run`) or a person running
// ginkgo hands the specs, as flags after `--` or KUBEPROOF_* variables.
type TestContext struct {
	Kubeconfig  string
	KubeContext string
	// RunID labels every object of this run.
	RunID string
	// WorkloadImage is the test workload; empty means build it here and,
	// on a kind cluster, side-load it.
	WorkloadImage string
	// ProgressFile receives one JSON line per finished spec.
	ProgressFile string
	// KindCluster names the kind cluster under test, if it is one.
	KindCluster string
	// AllowDisruptive is the user's consent to break a cluster kubeproof
	// did not create (clusters it created need none).
	AllowDisruptive bool
	// AllowControlPlane lets node faults target control-plane nodes.
	AllowControlPlane bool
	// AllowPrivilegedPods lets kubelet-freeze run its privileged pod.
	AllowPrivilegedPods bool
}

// Context is the run's TestContext.
var Context TestContext

func init() {
	flag.StringVar(&Context.Kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster under test")
	flag.StringVar(&Context.KubeContext, "context", os.Getenv("KUBEPROOF_CONTEXT"), "kubeconfig context (default: current)")
	flag.StringVar(&Context.RunID, "run-id", os.Getenv("KUBEPROOF_RUN_ID"), "run ID that labels every object (default: derived from the random seed)")
	flag.StringVar(&Context.WorkloadImage, "workload-image", os.Getenv("KUBEPROOF_WORKLOAD_IMAGE"), "workload image (default: build and side-load into the kind cluster)")
	flag.StringVar(&Context.ProgressFile, "progress-file", os.Getenv("KUBEPROOF_PROGRESS_FILE"), "append one JSON line per finished spec here")
	flag.BoolVar(&Context.AllowDisruptive, "allow-disruptive", os.Getenv("KUBEPROOF_ALLOW_DISRUPTIVE") == "true", "consent to break a cluster kubeproof did not create")
	flag.BoolVar(&Context.AllowPrivilegedPods, "allow-privileged-pods", false, "let kubelet-freeze run a privileged hostPID pod (any cluster)")
	flag.BoolVar(&Context.AllowControlPlane, "allow-control-plane", false, "let node faults target control-plane nodes")
	flag.StringVar(&Context.KindCluster, "kind-cluster", os.Getenv("KUBEPROOF_KIND_CLUSTER"), "name of the kind cluster under test (enables node-level faults and image side-loading)")
}
