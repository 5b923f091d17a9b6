package contract

import (
	"flag"
	"fmt"
	"os"
	"strconv"
)

// Settings is what the runner hands the suites, and what a person running
// the suites with plain ginkgo passes after `--` (or as KUBEPROOF_*
// variables). The runner's own command registers the same flags, so each
// setting is declared once, in settingFlags.
type Settings struct {
	// Cluster is the cluster under test.
	Cluster
	// RunID labels every object of this run.
	RunID string
	// WorkloadImage is the test workload; empty means build it here and
	// side-load it into the kind cluster.
	WorkloadImage string
	// ImagePullSecret is [NAMESPACE/]NAME of a registry Secret for the
	// workload image: copied into every namespace the run creates and
	// named in every pod that runs the image.
	ImagePullSecret string
	// ProgressFile receives one ProgressEvent line per finished spec.
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
	// TargetVersion is the Kubernetes version the cluster is about to be
	// upgraded to (vMAJOR.MINOR[.PATCH]): the pre-upgrade checks judge it.
	TargetVersion string
	// RunnerPID is the runner's process: when it dies (SIGKILL), the spec
	// processes interrupt themselves, so that their cleanups revert the
	// faults and remove the objects nobody is watching any more.
	RunnerPID int
}

// setting is one flag: its name, the variable that supplies its default
// (if any), its usage, and the field it sets (*string or *bool).
type setting struct {
	name, env, usage string
	field            any
}

// Cluster names a cluster the way kubectl does: "" means $KUBECONFIG, then
// ~/.kube/config, and its current context. Every command that acts on a
// cluster registers these flags through it.
type Cluster struct {
	Kubeconfig string
	Context    string
}

func (c *Cluster) settingFlags() []setting {
	return []setting{
		{"kubeconfig", "", "kubeconfig of the cluster (default: $KUBECONFIG, then ~/.kube/config)", &c.Kubeconfig},
		{"context", "KUBEPROOF_CONTEXT", "kubeconfig context (default: the current one)", &c.Context},
	}
}

// RegisterFlags registers --kubeconfig and --context on fs.
func (c *Cluster) RegisterFlags(fs *flag.FlagSet) { register(fs, c.settingFlags()) }

func (s *Settings) settingFlags() []setting {
	return append(s.Cluster.settingFlags(), []setting{
		{"run-id", "KUBEPROOF_RUN_ID", "run ID that labels every object the run creates (default: kubeproof run, a timestamp; plain ginkgo, from the random seed)", &s.RunID},
		{"workload-image", "KUBEPROOF_WORKLOAD_IMAGE", "workload image in a registry the nodes can pull from (default: built here and side-loaded into the kind cluster)", &s.WorkloadImage},
		{"image-pull-secret", "KUBEPROOF_IMAGE_PULL_SECRET", "[NAMESPACE/]NAME (default namespace: default) of the Secret (kubernetes.io/dockerconfigjson) that lets the nodes pull --workload-image: copied into every namespace the run creates, named in every pod", &s.ImagePullSecret},
		{"progress-file", "KUBEPROOF_PROGRESS_FILE", "append one JSON line per finished check here", &s.ProgressFile},
		{"kind-cluster", "KUBEPROOF_KIND_CLUSTER", "name of the kind cluster under test (enables node-level faults and image side-loading)", &s.KindCluster},
		{"allow-disruptive", "KUBEPROOF_ALLOW_DISRUPTIVE", "consent to disruptive checks (node faults) on a cluster kubeproof did not create", &s.AllowDisruptive},
		{"allow-control-plane", "", "let node faults target control-plane nodes", &s.AllowControlPlane},
		{"allow-privileged-pods", "", "let the kubelet-freeze scenario run a privileged hostPID pod (node faults on clusters that are not kind)", &s.AllowPrivilegedPods},
		{"target-version", "KUBEPROOF_TARGET_VERSION", "the Kubernetes version the cluster will be upgraded to, vMAJOR.MINOR[.PATCH] (--profile pre-upgrade): one minor ahead at most, never behind", &s.TargetVersion},
		{"runner-pid", "", "the runner's process ID: the checks stop and clean up when it is gone", &s.RunnerPID},
	}...)
}

// Internal names the settings only the runner sets for the suites; its
// command hides them.
var Internal = []string{"progress-file", "kind-cluster", "runner-pid"}

// RegisterFlags registers every setting on fs; a setting's KUBEPROOF_*
// variable, if set, is its default.
func (s *Settings) RegisterFlags(fs *flag.FlagSet) { register(fs, s.settingFlags()) }

func register(fs *flag.FlagSet, settings []setting) {
	for _, f := range settings {
		def := ""
		if f.env != "" {
			def = os.Getenv(f.env)
		}
		switch p := f.field.(type) {
		case *string:
			fs.StringVar(p, f.name, def, f.usage)
		case *bool:
			b, _ := strconv.ParseBool(def)
			fs.BoolVar(p, f.name, b, f.usage)
		case *int:
			n, _ := strconv.Atoi(def)
			fs.IntVar(p, f.name, n, f.usage)
		default:
			panic(fmt.Sprintf("setting %s: unsupported field type %T", f.name, f.field))
		}
	}
}

// Args renders the settings as the flags RegisterFlags parses.
func (s Settings) Args() []string {
	var args []string
	for _, f := range s.settingFlags() {
		switch p := f.field.(type) {
		case *string:
			args = append(args, "--"+f.name+"="+*p)
		case *bool:
			args = append(args, "--"+f.name+"="+strconv.FormatBool(*p))
		case *int:
			args = append(args, "--"+f.name+"="+strconv.Itoa(*p))
		}
	}
	return args
}
