//go:build e2e

package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBadInputExitCodes: bad flags, bad files and unusable clusters each
// get one line saying what to do, a distinct exit code, and fast.
func TestBadInputExitCodes(t *testing.T) {
	dir := t.TempDir()
	unreachable := filepath.Join(dir, "unreachable.yaml")
	// Nothing listens on port 1 of this machine: connection refused.
	if err := os.WriteFile(unreachable, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.json")
	if err := os.WriteFile(garbage, []byte(`{"schemaVersion": "kubeproof.io/results/v1", "runID": "x", "checks": [`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		args     []string
		code     int
		mentions string
	}{
		{"missing kubeconfig", []string{"run", "--kubeconfig", filepath.Join(dir, "nope.yaml")}, 3, "kubeconfig"},
		{"unreachable API server", []string{"run", "--kubeconfig", unreachable}, 3, "cannot reach the API server"},
		{"unknown flag", []string{"run", "--bogus"}, 2, "--bogus"},
		{"unknown label", []string{"run", "--label-filter", "area:netwroking"}, 2, "unknown labels"},
		{"unknown profile", []string{"run", "--profile", "everything"}, 2, "--profile"},
		{"bad kind config", []string{"cluster", "create", "--config", garbage}, 2, "kind config"},
		{"truncated results", []string{"report", "markdown", garbage}, 2, garbage},
		{"kind and not kind", []string{"run", "--kind", "--no-kind-detection"}, 2, "--no-kind-detection"},
		{"rbac for an unknown profile", []string{"rbac", "--profile", "everything"}, 2, "--profile"},
		{"rbac for a subject it cannot bind", []string{"rbac", "--subject", "sa:ci:kubeproof"}, 2, "serviceaccount:NAMESPACE:NAME"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			args := c.args
			if args[0] == "run" {
				// Keep results of runs that get that far out of the tree.
				args = append(args, "--output-dir", t.TempDir())
			}
			out, err := exec.Command(kubeproofBin(t), args...).CombinedOutput()
			took := time.Since(start)
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if code != c.code || len(lines) != 1 || !strings.Contains(lines[0], c.mentions) {
				t.Errorf("kubeproof %s: want exit %d and one line mentioning %q, got exit %d:\n%s", strings.Join(c.args, " "), c.code, c.mentions, code, out)
			}
			if took > 10*time.Second {
				t.Errorf("kubeproof %s took %s; bad input must be reported within 10s", strings.Join(c.args, " "), took)
			}
		})
	}
}
