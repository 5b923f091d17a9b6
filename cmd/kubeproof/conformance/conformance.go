// Package conformance is the `kubeproof conformance` command: the upstream
// Kubernetes conformance suite, built and run offline, and the CNCF
// submission folder written and checked locally.
package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeproof/kubeproof/chaos/kindnode"
	"github.com/kubeproof/kubeproof/conformance"
	"github.com/kubeproof/kubeproof/conformance/bundle"
	"github.com/kubeproof/kubeproof/internal/clusterlock"
	"github.com/kubeproof/kubeproof/internal/exitcode"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/nodeimage"
)

// New returns the `conformance` command group.
func New() *cobra.Command {
	cmd := &cobra.Command{Use: "conformance", Short: "Run the upstream Kubernetes conformance suite offline and check a certification submission"}
	cmd.AddCommand(imagesCmd(), runCmd(), bundleCmd(), verifyCmd())
	return cmd
}

func imagesCmd() *cobra.Command {
	var version string
	c := &cobra.Command{
		Use:   "images",
		Short: "List the images the conformance suite of a version runs and how each is built here",
		Long: `Build the suite of --kubernetes-version if needed (e2e.test from the Go module proxy,
about 5 minutes the first time) and list every image it can run: those its
[Conformance] specs run, each with what it is built from, then the others.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := suite(c.Context(), version, c.ErrOrStderr())
			if err != nil {
				return err
			}
			images, err := conformance.Images(c.Context(), s)
			if err != nil {
				return exitcode.EnvironmentError(err)
			}
			printImages(c.OutOrStdout(), images)
			return nil
		},
	}
	c.Flags().StringVar(&version, "kubernetes-version", nodeimage.DefaultKubernetesVersion, "the suite's Kubernetes version (vMAJOR.MINOR.PATCH on the Go module proxy)")
	return c
}

func printImages(w io.Writer, images []conformance.Image) {
	fmt.Fprintln(w, "[Conformance] specs run:")
	for _, img := range images {
		if img.Conformance {
			state := "built here"
			if !img.Built {
				state = "not built"
			}
			fmt.Fprintf(w, "  %-62s %-10s  %s\n", img.Ref, state, img.Source)
		}
	}
	fmt.Fprintln(w, "Other specs run (not built):")
	for _, img := range images {
		if !img.Conformance {
			fmt.Fprintf(w, "  %s\n", img.Ref)
		}
	}
}

type runOptions struct {
	kubeconfig, context, version string
	focus, skip, outputDir       string
	rerunFailed, registry        string
	procs                        int
	noKind, insecure             bool
}

func runCmd() *cobra.Command {
	var o runOptions
	c := &cobra.Command{
		Use:   "run",
		Short: "Run the [Conformance] specs of the cluster's version, offline, and write the upstream e2e.log and junit_01.xml",
		Long: `Build the e2e suite of the cluster's version (or --kubernetes-version) and the
images its [Conformance] specs run, side-load them into the nodes if the cluster is a
kind cluster of this machine (or push them to --registry, for a cluster that pulls:
the suite is pointed at them with a generated KUBE_TEST_REPO_LIST), and run the specs with Ginkgo: --procs parallel processes,
[Serial] specs alone at the end. e2e.log and junit_01.xml are the upstream outputs,
untouched; a line per spec shows progress.

--focus or --skip run part of the set, and --rerun-failed DIR the specs that failed
in an earlier run's junit_01.xml: every output then says "not valid for
certification".

Exit codes: 0 every spec that ran passed; 1 a spec failed (each is listed with its
failure); 2 bad flags; 3 the machine or cluster could not be used; 4 another
kubeproof run holds the cluster (its Lease, kube-system/kubeproof-run).`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return run(c.Context(), o, c.OutOrStdout(), c.ErrOrStderr()) },
	}
	f := c.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (default: $KUBECONFIG or ~/.kube/config)")
	f.StringVar(&o.context, "context", "", "kubeconfig context (default: the current one)")
	f.StringVar(&o.version, "kubernetes-version", "", "the suite's version (default: the API server's, vMAJOR.MINOR.PATCH)")
	f.StringVar(&o.focus, "focus", "", "run only the conformance specs matching this regular expression (not valid for certification)")
	f.StringVar(&o.skip, "skip", "", "leave out the conformance specs matching this regular expression (not valid for certification)")
	f.StringVar(&o.rerunFailed, "rerun-failed", "", "run only the specs that failed in this earlier run's --output-dir (not valid for certification)")
	f.IntVar(&o.procs, "procs", 2, "Ginkgo's parallel processes")
	f.StringVar(&o.outputDir, "output-dir", "", "where e2e.log and junit_01.xml go (default ./kubeproof-results/conformance-TIME)")
	f.BoolVar(&o.noKind, "no-kind-detection", false, "do not side-load images even if the cluster is a kind cluster of this machine")
	f.StringVar(&o.registry, "registry", "", "push the images built here to REGISTRY[:PORT][/PATH] and run them from there (a cluster that pulls; KUBE_TEST_REPO_LIST)")
	f.BoolVar(&o.insecure, "insecure-registry", false, "the --registry speaks plain HTTP")
	return c
}

func run(ctx context.Context, o runOptions, out, errOut io.Writer) error {
	e := conformance.ExecuteOptions{Kubeconfig: o.kubeconfig, Context: o.context, Version: o.version,
		Focus: o.focus, Skip: o.skip, RerunFailed: o.rerunFailed, Procs: o.procs, OutputDir: o.outputDir,
		Registry: o.registry, InsecureRegistry: o.insecure, Log: out, Status: errOut}
	if err := e.Validate(); err != nil {
		return err
	}
	client, err := kube.NewClient(o.kubeconfig, o.context)
	if err != nil {
		return exitcode.EnvironmentError(fmt.Errorf("%v: pass --kubeconfig/--context", err))
	}
	e.Client = client
	// One run at a time per cluster: no kubeproof run or fault while the
	// suite runs.
	lease, tookOver, err := clusterlock.Acquire(ctx, client, "conformance-"+time.Now().UTC().Format("20060102-150405"))
	if errors.Is(err, clusterlock.ErrBusy) {
		return exitcode.BusyError(err)
	}
	if err != nil {
		return exitcode.EnvironmentError(err)
	}
	if tookOver != "" {
		fmt.Fprintf(errOut, "took over the cluster's Lease from %s\n", tookOver)
	}
	defer func() {
		if err := lease.Release(context.WithoutCancel(ctx)); err != nil {
			fmt.Fprintf(errOut, "warning: %v\n", err)
		}
	}()
	if !o.noKind {
		e.Kind = kindnode.ClusterFromContext(client.ContextName)
	}
	e.Kubeconfig = kube.KubeconfigFile(e.Kubeconfig)
	if e.OutputDir == "" {
		e.OutputDir = filepath.Join("kubeproof-results", "conformance-"+time.Now().UTC().Format("20060102-150405"))
	}
	s, res, err := conformance.Execute(ctx, e)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n%d passed, %d failed of %d conformance specs (%s) in %s\n", res.Passed, len(res.Failed), len(res.Specs), s.Version, res.Took.Round(time.Second))
	for _, f := range res.Failed {
		fmt.Fprintf(out, "FAILED %s: %s\n", f.Name, f.Failure)
	}
	for _, l := range res.Left {
		fmt.Fprintf(out, "still present: %s (kubeproof cleanup removes it)\n", l)
	}
	if res.Partial != "" {
		fmt.Fprintln(out, res.Partial)
	}
	fmt.Fprintf(out, "e2e.log and junit_01.xml: %s\n", e.OutputDir)
	if len(res.Failed) > 0 {
		return exitcode.WithCode(exitcode.CheckFailed, fmt.Errorf("%d of %d conformance specs failed, first: %s: %s", len(res.Failed), len(res.Specs), res.Failed[0].Name, res.Failed[0].Failure))
	}
	return nil
}

func suite(ctx context.Context, version string, log io.Writer) (*conformance.Suite, error) {
	s, err := conformance.BuildSuite(ctx, conformance.SuiteOptions{Version: version, Log: log})
	if errors.Is(err, conformance.ErrVersion) {
		return nil, exitcode.UsageError(err)
	}
	if err != nil {
		return nil, exitcode.EnvironmentError(err)
	}
	return s, nil
}

func bundleCmd() *cobra.Command {
	var product, from, outputDir, version string
	c := &cobra.Command{
		Use:   "bundle",
		Short: "Write the CNCF submission folder (vX.Y/<product>/) from a conformance run and check it as the repository's bot does",
		Long: `Write <output-dir>/vX.Y/<product>/ with README.md (how to reproduce), PRODUCT.yaml,
and the run's e2e.log and junit_01.xml copied byte for byte, then check it as
cncf/k8s-conformance's bot does and print each check. Exit 1 if any check fails.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if product == "" || from == "" {
				return exitcode.UsageError(errors.New("want --product PRODUCT.yaml and --from RUN-DIR (the --output-dir of `kubeproof conformance run`)"))
			}
			if outputDir == "" {
				outputDir = "."
			}
			s, err := suite(c.Context(), version, c.ErrOrStderr())
			if err != nil {
				return err
			}
			folder, err := bundle.Write(outputDir, bundle.Inputs{
				KubeVersion: s.Version, ProductFile: product,
				E2ELog: filepath.Join(from, "e2e.log"), JUnit: filepath.Join(from, "junit_01.xml"),
				Reproduce: reproduce(s.Version),
			})
			if err != nil {
				return exitcode.UsageError(err)
			}
			fmt.Fprintf(c.OutOrStdout(), "wrote %s\n", folder)
			return verify(c.OutOrStdout(), folder, s)
		},
	}
	f := c.Flags()
	f.StringVar(&product, "product", "", "PRODUCT.yaml of the product (the CNCF template's fields)")
	f.StringVar(&from, "from", "", "the --output-dir of a `kubeproof conformance run`")
	f.StringVar(&outputDir, "output-dir", "", "where the vX.Y/<product>/ folder is written (default .)")
	f.StringVar(&version, "kubernetes-version", nodeimage.DefaultKubernetesVersion, "the Kubernetes version the run tested (its [Conformance] list is the required one)")
	return c
}

func verifyCmd() *cobra.Command {
	var version string
	c := &cobra.Command{
		Use:   "verify FOLDER",
		Short: "Check a vX.Y/<product>/ submission folder as the CNCF repository's bot does",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := suite(c.Context(), version, c.ErrOrStderr())
			if err != nil {
				return err
			}
			return verify(c.OutOrStdout(), args[0], s)
		},
	}
	c.Flags().StringVar(&version, "kubernetes-version", nodeimage.DefaultKubernetesVersion, "the version whose [Conformance] list is required")
	return c
}

func verify(out io.Writer, folder string, s *conformance.Suite) error {
	required, err := bundle.LoadRequired(s.ConformanceYAML)
	if err != nil {
		return exitcode.EnvironmentError(err)
	}
	r := bundle.Verify(folder, required, time.Now())
	r.Print(out)
	if !r.OK() {
		var failed []string
		for _, c := range r.Checks {
			if !c.OK {
				failed = append(failed, c.Name)
			}
		}
		return exitcode.WithCode(exitcode.CheckFailed, fmt.Errorf("%s: %d checks failed: %s", folder, len(failed), strings.Join(failed, ", ")))
	}
	return nil
}

// reproduce is the README's how-to: the commands that give the same run.
func reproduce(version string) string {
	return fmt.Sprintf(`# on a machine with Go and Docker, from a clone of kubeproof:
make build
./bin/kubeproof conformance run --kubeconfig $KUBECONFIG --kubernetes-version %s --output-dir results
# results/e2e.log and results/junit_01.xml are the files of this folder`, version)
}
