package archtest

import (
	"os/exec"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/kubeproof/kubeproof"

// layers ranks every package of the module, top (0) to bottom; a package
// takes the rank of the longest entry that is its path or a parent of it.
// An import inside the module must go to a strictly higher rank. This is
// the table of docs/architecture.md: change both together.
var layers = map[string]float64{
	"test":                       -1, // end-to-end tests drive everything
	"cmd":                        0,  // the CLI and the programs built into images
	"cmd/kubeproof/run":          0.5,
	"cmd/kubeproof/report":       0.5,
	"cmd/kubeproof/cluster":      0.5,
	"cmd/kubeproof/chaos":        0.5,
	"cmd/kubeproof/cleanup":      0.5,
	"cmd/kubeproof/image":        0.5,
	"cmd/kubeproof/rbac":         0.5,
	"cmd/kubeproof/docker":       0.5,
	"cmd/kubeproof/version":      0.5,
	"cmd/kubeproof/upgrade":      0.5,
	"cmd/kubeproof/conformance":  0.5,
	"cmd/kubeproof/internal":     0.9,
	"fixtures/workload":          0,   // a program: runs in every test pod
	"rehearsal":                  0.8, // upgrade rehearse: runs the runner twice around an upgrade
	"runner":                     1,
	"conformance":                1.2, // the upstream suite and its images, built and run
	"suites":                     1.5, // the suites' test binary
	"suites/networking":          2,   // the areas
	"suites/nodes":               2,
	"suites/services":            2,
	"suites/workloads":           2,
	"suites/resilience":          2,
	"suites/upgrade":             2,
	"suites/controlplane":        2,
	"suites/storage":             2,
	"suites/pods":                2,
	"suites/framework":           2.5,
	"cluster":                    2, // kind lifecycle
	"cluster/dockerup":           3,
	"cluster/dockerup/capfilter": 8,
	"chaos/faults":               4,   // plan, inject, revert, registry
	"chaos/drain":                4.5, // one package per injector
	"chaos/kindnode":             4.5,
	"chaos/kubeletfreeze":        4.5,
	"chaos/podkill":              4.5,
	"chaos/journal":              4.6,
	"chaos":                      4.7, // Fault and Spec
	"nodeimage":                  4,
	"nodeimage/podnet":           8,
	"fixtures/workloadimage":     4,
	"reporters":                  5, // views of the results
	"reporters/markdown":         5.5,
	"reporters/internal":         6,
	"reporters/results":          6,
	"reporters/upgrade":          6,   // the model of upgrade.json
	"conformance/bundle":         6,   // the CNCF submission folder and its checks
	"suites/contract":            8,   // leaves
	"fixtures":                   7.5, // pod and Service builders
	"fixtures/wire":              8,
	"fixtures/meta":              8,
	"internal":                   8,
	"internal/kindstate":         7.8, // above paths and atomicfile
	"internal/clusterlock":       7.8, // above meta, proc and paths
	"internal/atomicfile":        9,   // below the other leaves
	"kind-configs":               8,
	"internal/archtest":          -1,
}

// rank of a package path relative to the module root.
func rank(t *testing.T, rel string) float64 {
	t.Helper()
	if rel == "" {
		return -1
	}
	best, found := "", false
	for prefix := range layers {
		if (rel == prefix || strings.HasPrefix(rel, prefix+"/")) && len(prefix) >= len(best) {
			best, found = prefix, true
		}
	}
	if !found {
		t.Errorf("package %s is in no layer: add it to the table here and in docs/architecture.md", rel)
		return -1
	}
	return layers[best]
}

func goList(t *testing.T, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

func TestNoImportPointsUp(t *testing.T) {
	lines := goList(t, "-tags", "e2e", "-f", `{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}`, "./...")
	var bad []string
	for _, line := range lines {
		fields := strings.Fields(line)
		pkg := fields[0]
		from := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, module+"/") && imp != module {
				continue
			}
			to := strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
			if strings.HasPrefix(from, to+"/") && rank(t, from) <= rank(t, to) {
				continue // a package may use its own helpers below it in the tree
			}
			if rank(t, from) >= rank(t, to) {
				bad = append(bad, from+" -> "+to)
			}
		}
	}
	sort.Strings(bad)
	bad = compact(bad)
	for _, b := range bad {
		t.Errorf("import points up or sideways: %s", b)
	}
}

// The kubeproof binary runs the suites as a separate process: it must not
// link Ginkgo's globals (flags registered in init) or any suite.
func TestKubeproofLinksNoSuite(t *testing.T) {
	for _, dep := range goList(t, "-deps", "./cmd/kubeproof") {
		switch {
		case dep == "github.com/onsi/ginkgo/v2", dep == "github.com/onsi/gomega":
			t.Errorf("cmd/kubeproof links %s", dep)
		case strings.HasPrefix(dep, module+"/suites/") && dep != module+"/suites/contract":
			t.Errorf("cmd/kubeproof links %s: the runner talks to the suites only through suites/contract", dep)
		}
	}
}

// The workload runs in every test pod: it stays a small program with no
// Kubernetes client in it.
func TestWorkloadStaysSmall(t *testing.T) {
	for _, dep := range goList(t, "-deps", "./fixtures/workload") {
		if strings.HasPrefix(dep, "k8s.io/") || strings.HasPrefix(dep, "sigs.k8s.io/") {
			t.Errorf("fixtures/workload links %s", dep)
		}
	}
}

func compact(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
