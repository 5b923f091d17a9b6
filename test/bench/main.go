// Command bench runs a profile (default core) N times on one warm cluster
// and writes what a change to the checks' speed is judged by: the median
// wall time of a run, each check's median duration, and the critical path
// (the spec process with the most check time, which the run waits for).
// `make bench` runs it; compare with ../shared/upstream-e2e/compare.sh on
// the same cluster and process count.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/kubeproof/kubeproof/cluster/kindcluster"
	"github.com/kubeproof/kubeproof/fixtures/meta"
	"github.com/kubeproof/kubeproof/internal/exitcode"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/nodeimage"
	"github.com/kubeproof/kubeproof/reporters/results"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Report is the file bench writes.
type Report struct {
	Profile     string    `json:"profile"`
	LabelFilter string    `json:"labelFilter,omitempty"`
	Procs       int       `json:"procs"`
	Runs        int       `json:"runs"`
	Cluster     string    `json:"cluster"`
	WallSeconds []float64 `json:"wallSeconds"`
	// MedianWallSeconds: the median of WallSeconds.
	MedianWallSeconds float64 `json:"medianWallSeconds"`
	// Checks: each check's median duration, longest first.
	Checks []CheckTime `json:"checks"`
	// CriticalPath: in the run with the median wall time, the process
	// with the most check time and its checks, longest first.
	CriticalPath Path `json:"criticalPath"`
}

// CheckTime is one check's durations across the runs.
type CheckTime struct {
	Name          string    `json:"name"`
	MedianSeconds float64   `json:"medianSeconds"`
	Seconds       []float64 `json:"seconds"`
}

// Path is one spec process's share of a run.
type Path struct {
	Process int         `json:"process"`
	Seconds float64     `json:"seconds"`
	Checks  []CheckTime `json:"checks"`
}

// settled waits, untimed, until no kubeproof namespace is left: a run
// ends with its namespaces terminating, and the namespace controller's
// work on them would slow the next run, which a user's run would not
// meet.
func settled(ctx context.Context, c *kube.Client) error {
	var left int
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		nss, err := c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: meta.ManagedSelector("")})
		if err != nil {
			return false, nil
		}
		left = len(nss.Items)
		return left == 0, nil
	})
	if err != nil {
		return fmt.Errorf("before a run: %d kubeproof namespaces still there after 2m (kubeproof cleanup removes them): %w", left, err)
	}
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(exitcode.Of(err))
	}
}

func run() error {
	runs := flag.Int("runs", 3, "how many runs")
	procs := flag.Int("procs", 2, "parallel spec processes per run")
	profile := flag.String("profile", "core", "profile to run")
	labelFilter := flag.String("label-filter", "", "ANDed with the profile, as kubeproof run's --label-filter (e.g. '!area:control-plane' for the checks the upstream comparison covers)")
	kubeconfig := flag.String("kubeconfig", "", "cluster to run on (default: a kind cluster kubeproof-bench, created and deleted)")
	bin := flag.String("kubeproof", "bin/kubeproof", "the kubeproof binary")
	out := flag.String("out", "_output/bench", "directory for the runs and bench.json")
	durations := flag.String("durations", "", "also write the checks' medians as the suites' scheduling priorities to this Go file (suites/framework/durations.go)")
	flag.Parse()
	if *runs < 1 || *procs < 1 {
		return exitcode.UsageError(errors.New("-runs and -procs want 1 or more"))
	}
	ctx := context.Background()
	cluster := *kubeconfig
	if cluster == "" {
		const name = "kubeproof-bench"
		image, err := nodeimage.Build(ctx, nodeimage.Options{})
		if err != nil {
			return exitcode.EnvironmentError(err)
		}
		if err := kindcluster.Delete(name, ""); err != nil {
			return exitcode.EnvironmentError(err)
		}
		cl, err := kindcluster.Create(ctx, kindcluster.CreateOptions{Name: name, Image: image})
		if err != nil {
			return exitcode.EnvironmentError(err)
		}
		defer func() { _ = kindcluster.Delete(name, "") }()
		cluster = cl.KubeconfigPath
	}
	rep := Report{Profile: *profile, LabelFilter: *labelFilter, Procs: *procs, Runs: *runs, Cluster: cluster}
	var all []*results.Run
	client, err := kube.NewClient(cluster, "")
	if err != nil {
		return exitcode.EnvironmentError(err)
	}
	for i := 1; i <= *runs; i++ {
		if err := settled(ctx, client); err != nil {
			return exitcode.EnvironmentError(err)
		}
		dir := filepath.Join(*out, fmt.Sprintf("run-%d", i))
		start := time.Now()
		args := []string{"run", "--kubeconfig", cluster, "--profile", *profile, "--procs", fmt.Sprint(*procs), "--output-dir", dir}
		if *labelFilter != "" {
			args = append(args, "--label-filter", *labelFilter)
		}
		cmd := exec.Command(*bin, args...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			// Timing a failing run measures the failure, not the checks.
			return fmt.Errorf("run %d of %d did not pass (%v): see %s", i, *runs, err, dir)
		}
		wall := time.Since(start).Seconds()
		r, err := results.Load(filepath.Join(dir, "results.json"))
		if err != nil {
			return exitcode.EnvironmentError(err)
		}
		rep.WallSeconds = append(rep.WallSeconds, wall)
		all = append(all, r)
		fmt.Fprintf(os.Stderr, "bench: run %d of %d: %.1fs\n", i, *runs, wall)
	}
	rep.MedianWallSeconds = median(rep.WallSeconds)
	rep.Checks = checkTimes(all)
	rep.CriticalPath = criticalPath(all[medianIndex(rep.WallSeconds)])
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	file := filepath.Join(*out, "bench.json")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		return exitcode.EnvironmentError(err)
	}
	fmt.Printf("%s profile, %d processes, %d runs: median wall %.1fs (runs: %s)\n", rep.Profile, rep.Procs, rep.Runs, rep.MedianWallSeconds, seconds(rep.WallSeconds))
	fmt.Printf("critical path: process %d, %.1fs of checks\n", rep.CriticalPath.Process, rep.CriticalPath.Seconds)
	for _, c := range rep.Checks {
		fmt.Printf("  %6.1fs  %s\n", c.MedianSeconds, c.Name)
	}
	fmt.Printf("written: %s\n", file)
	if *durations != "" {
		if err := writeDurations(*durations, rep.Checks); err != nil {
			return exitcode.EnvironmentError(err)
		}
		fmt.Printf("written: %s\n", *durations)
	}
	return nil
}

// writeDurations writes the checks' medians, rounded up to whole seconds,
// as suites/framework's typicalSeconds: longest first is the order the
// parallel processes take the checks in.
func writeDurations(file string, checks []CheckTime) error {
	var b strings.Builder
	b.WriteString("// Code generated by test/bench (-durations); DO NOT EDIT.\n\npackage framework\n\n")
	b.WriteString("// typicalSeconds is each check's median duration in seconds, rounded up,\n")
	b.WriteString("// as `make bench` last measured it on the core profile: the checks'\n")
	b.WriteString("// scheduling priority (longest first). A check missing here runs after the\n")
	b.WriteString("// ones listed.\n")
	b.WriteString("var typicalSeconds = map[string]int{\n")
	for _, c := range checks {
		fmt.Fprintf(&b, "\t%q: %d,\n", c.Name, int(math.Ceil(c.MedianSeconds)))
	}
	b.WriteString("}\n")
	src, err := format.Source([]byte(b.String()))
	if err != nil {
		return err
	}
	return os.WriteFile(file, src, 0o644)
}

// checkTimes gathers each check that ran (not skipped) across runs.
func checkTimes(runs []*results.Run) []CheckTime {
	byName := map[string][]float64{}
	for _, r := range runs {
		for _, c := range r.Checks {
			if c.Verdict == results.Skipped {
				continue
			}
			byName[c.Name] = append(byName[c.Name], c.Seconds)
		}
	}
	var out []CheckTime
	for name, s := range byName {
		out = append(out, CheckTime{Name: name, MedianSeconds: median(s), Seconds: s})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].MedianSeconds > out[j].MedianSeconds })
	return out
}

// criticalPath is the process of r with the most check time.
func criticalPath(r *results.Run) Path {
	per := map[int]*Path{}
	for _, c := range r.Checks {
		if c.Verdict == results.Skipped {
			continue
		}
		p := per[c.Process]
		if p == nil {
			p = &Path{Process: c.Process}
			per[c.Process] = p
		}
		p.Seconds += c.Seconds
		p.Checks = append(p.Checks, CheckTime{Name: c.Name, MedianSeconds: c.Seconds})
	}
	var longest Path
	for _, p := range per {
		if p.Seconds > longest.Seconds {
			longest = *p
		}
	}
	sort.Slice(longest.Checks, func(i, j int) bool { return longest.Checks[i].MedianSeconds > longest.Checks[j].MedianSeconds })
	return longest
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// medianIndex is the index of the run whose wall time is the median (the
// lower one of an even count).
func medianIndex(v []float64) int {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return v[idx[a]] < v[idx[b]] })
	return idx[(len(idx)-1)/2]
}

func seconds(v []float64) string {
	var s []string
	for _, x := range v {
		s = append(s, fmt.Sprintf("%.1fs", x))
	}
	return strings.Join(s, ", ")
}
