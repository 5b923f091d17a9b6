// Package report is the `kubeproof report` command group: views of a
// results file written after the run (HTML, Markdown), a comparison of two
// runs, and a check that a results file and a report belong together.
package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubeproof/kubeproof/internal/exitcode"
	"github.com/kubeproof/kubeproof/reporters/diff"
	"github.com/kubeproof/kubeproof/reporters/html"
	"github.com/kubeproof/kubeproof/reporters/markdown"
	"github.com/kubeproof/kubeproof/reporters/results"
)

// New returns the `report` command group.
func New() *cobra.Command {
	c := &cobra.Command{
		Use:   "report",
		Short: "Render, compare and verify results files (kubeproof run writes results.json)",
	}
	c.AddCommand(newHTML(), newVerify(), newDiff(), newMarkdown())
	return c
}

func newHTML() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "html RESULTS.json",
		Short: "Write the self-contained HTML certification report of a results file",
		Args:  usage(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, args []string) error {
			path, err := WriteHTML(args[0], out)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "wrote %s\n", path)
			return nil
		},
	}
	c.Flags().StringVarP(&out, "output", "o", "", "report file (default: report.html next to the results file)")
	return c
}

func newVerify() *cobra.Command {
	return &cobra.Command{
		Use:   "verify RESULTS.json [REPORT.html]",
		Short: "Check a results file is as kubeproof wrote it and, if given, that the report was made from it",
		Args:  usage(cobra.RangeArgs(1, 2)),
		RunE: func(c *cobra.Command, args []string) error {
			reportPath := ""
			if len(args) == 2 {
				reportPath = args[1]
			}
			return Verify(args[0], reportPath, c.OutOrStdout())
		},
	}
}

func newDiff() *cobra.Command {
	o := diff.DefaultOptions
	var format string
	c := &cobra.Command{
		Use:   "diff BEFORE.json AFTER.json",
		Short: "Compare two runs: regressions first, then fixes, new and removed checks, moved measurements (exit 1 on a regression)",
		Args:  usage(cobra.ExactArgs(2)),
		RunE: func(c *cobra.Command, args []string) error {
			return Diff(args[0], args[1], format, o, c.OutOrStdout())
		},
	}
	f := c.Flags()
	f.StringVar(&format, "format", "table", "output format: "+strings.Join(diff.Formats, ", "))
	f.Float64Var(&o.Threshold, "threshold", o.Threshold, "report a measurement that moved by more than this fraction of its BEFORE value (0.5 = 50%)")
	f.Float64Var(&o.Floor, "floor", o.Floor, "and by at least this much in the measurement's own unit (ignores noise on small figures)")
	return c
}

func newMarkdown() *cobra.Command {
	return &cobra.Command{
		Use:   "markdown RESULTS.json",
		Short: "Print a short Markdown summary (for a CI step summary or a pull request comment)",
		Args:  usage(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, args []string) error {
			run, err := load(args[0])
			if err != nil {
				return err
			}
			return markdown.Write(c.OutOrStdout(), run)
		},
	}
}

// usage makes a wrong number of arguments exit 2 like a bad flag does.
func usage(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if err := check(c, args); err != nil {
			return exitcode.UsageError(fmt.Errorf("%w (usage: %s)", err, c.UseLine()))
		}
		return nil
	}
}

// load reads a results file; its errors already name the file and the
// problem, and any failure here is bad input.
func load(path string) (*results.Run, error) {
	run, err := results.Load(path)
	if err != nil {
		return nil, exitcode.UsageError(err)
	}
	return run, nil
}

// WriteHTML renders the report of the results file at resultsPath to out,
// or to report.html beside it, and returns the path written.
func WriteHTML(resultsPath, out string) (string, error) {
	run, err := load(resultsPath)
	if err != nil {
		return "", err
	}
	if out == "" {
		out = filepath.Join(filepath.Dir(resultsPath), "report.html")
	}
	if err := html.WriteFile(run, out); err != nil {
		return "", exitcode.EnvironmentError(fmt.Errorf("%s: %w", out, err))
	}
	return out, nil
}

// Verify checks that the results file is byte for byte the canonical
// encoding of what it holds (so it was not edited after the run) and, when
// reportPath is given, that the report embeds the same digest.
func Verify(resultsPath, reportPath string, w io.Writer) error {
	run, err := load(resultsPath)
	if err != nil {
		return err
	}
	digest, err := run.Digest()
	if err != nil {
		return exitcode.UsageError(fmt.Errorf("%s: %w", resultsPath, err))
	}
	data, err := os.ReadFile(resultsPath)
	if err != nil {
		return exitcode.UsageError(err)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != digest {
		return exitcode.WithCode(exitcode.CheckFailed, fmt.Errorf("%s: mismatch: the file's SHA-256 is %s but its canonical encoding's is %s: it was changed after kubeproof wrote it", resultsPath, got, digest))
	}
	// An edit that keeps the layout keeps the bytes canonical; the counts
	// kubeproof wrote next to the checks still give a flipped verdict away.
	recounted := *run
	recounted.Recount()
	if s, r := run.Summary, recounted.Summary; s != r {
		return exitcode.WithCode(exitcode.CheckFailed, fmt.Errorf("%s: mismatch: its summary says %d passed, %d failed, %d skipped but its checks say %d, %d, %d: it was changed after kubeproof wrote it",
			resultsPath, s.Passed, s.Failed, s.Skipped, r.Passed, r.Failed, r.Skipped))
	}
	if reportPath != "" {
		report, err := os.ReadFile(reportPath)
		if err != nil {
			return exitcode.UsageError(err)
		}
		embedded, err := html.EmbeddedDigest(bytes.NewReader(report))
		if err != nil {
			return exitcode.UsageError(fmt.Errorf("%s: %w", reportPath, err))
		}
		if embedded != digest {
			return exitcode.WithCode(exitcode.CheckFailed, fmt.Errorf("%s: mismatch: the report was made from results with SHA-256 %s, not from %s (%s)", reportPath, embedded, resultsPath, digest))
		}
		_, err = fmt.Fprintf(w, "verified: %s (sha256 %s) and %s was made from it\n", resultsPath, digest, reportPath)
		return err
	}
	_, err = fmt.Fprintf(w, "verified: %s (sha256 %s)\n", resultsPath, digest)
	return err
}

// ErrRegressed marks a diff with at least one check that passed before
// and fails now.
var ErrRegressed = errors.New("regressed")

// Diff compares two results files and prints the differences; the error
// exits 1 when a check regressed.
func Diff(beforePath, afterPath, format string, o diff.Options, w io.Writer) error {
	if !slices.Contains(diff.Formats, format) {
		return exitcode.UsageError(fmt.Errorf("--format %q: want one of %s", format, strings.Join(diff.Formats, ", ")))
	}
	if o.Threshold < 0 || o.Floor < 0 {
		return exitcode.UsageError(fmt.Errorf("--threshold and --floor must not be negative"))
	}
	before, err := load(beforePath)
	if err != nil {
		return err
	}
	after, err := load(afterPath)
	if err != nil {
		return err
	}
	r := diff.Compare(before, after, o)
	if err := r.WriteFormat(w, format, o); err != nil {
		return exitcode.EnvironmentError(err)
	}
	if !r.HasRegressions() {
		return nil
	}
	var names []string
	for i, c := range r.Regressions {
		if i == 3 {
			names = append(names, fmt.Sprintf("and %d more", len(r.Regressions)-i))
			break
		}
		names = append(names, c.Area+"/"+c.Name)
	}
	noun := "check"
	if len(r.Regressions) > 1 {
		noun = "checks"
	}
	return exitcode.WithCode(exitcode.CheckFailed, fmt.Errorf("%d %s %w (passed in %s, failed in %s): %s",
		len(r.Regressions), noun, ErrRegressed, beforePath, afterPath, strings.Join(names, "; ")))
}
