package controlplane

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/onsi/ginkgo/v2"

	"github.com/kubeproof/kubeproof/suites/framework"
)

// healthEndpoints are the API server's health endpoints whose individual
// checks (etcd, informers, post-start hooks, shutdown) are listed with
// ?verbose; /healthz is deprecated in their favour.
var healthEndpoints = []string{"/livez", "/readyz"}

// healthCheck is one line of a verbose health answer: "[+]etcd ok" or
// "[-]shutdown failed: reason withheld".
type healthCheck struct {
	name   string
	ok     bool
	detail string
}

// parseHealth reads the individual checks of a verbose health answer;
// other lines (the summary) are skipped.
func parseHealth(body string) []healthCheck {
	var out []healthCheck
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimSpace(line)
		var ok bool
		switch {
		case strings.HasPrefix(line, "[+]"):
			ok = true
		case strings.HasPrefix(line, "[-]"):
		default:
			continue
		}
		name, detail, _ := strings.Cut(line[3:], " ")
		out = append(out, healthCheck{name: name, ok: ok, detail: detail})
	}
	return out
}

// apiServerHealthy reads /livez?verbose and /readyz?verbose from the API
// server that answers the run's client: every individual check listed
// must pass, and the endpoint must answer 200. An identity refused the
// endpoints (a locked-down managed control plane) is not checked.
func apiServerHealthy(ctx context.Context, f *framework.Framework) {
	host := f.Client.Config.Host
	var problems []string
	counts := map[string]int{}
	for _, ep := range healthEndpoints {
		status, body, err := f.Client.GetPath(ctx, ep, map[string]string{"verbose": ""})
		if err != nil {
			framework.Failf("API server %s: want an answer to %s?verbose, got %v", host, ep, err)
		}
		if status == http.StatusForbidden || status == http.StatusUnauthorized {
			ginkgo.Skip(fmt.Sprintf("not checked: the API server at %s refuses %s to this identity (HTTP %d): the cluster keeps its health endpoints from it (by default system:public-info-viewer may read them)", host, ep, status))
		}
		checks := parseHealth(string(body))
		counts[ep] = len(checks)
		var failed []string
		for _, c := range checks {
			if !c.ok {
				failed = append(failed, fmt.Sprintf("[-]%s %s", c.name, c.detail))
			}
		}
		switch {
		case len(failed) > 0:
			problems = append(problems, fmt.Sprintf("%s (HTTP %d): %s", ep, status, strings.Join(failed, ", ")))
		case len(checks) == 0:
			problems = append(problems, fmt.Sprintf("%s (HTTP %d): no individual check listed: %q", ep, status, firstLine(string(body))))
		case status != http.StatusOK:
			problems = append(problems, fmt.Sprintf("%s: HTTP %d with every listed check passing", ep, status))
		}
	}
	if len(problems) > 0 {
		framework.Failf("API server %s: want every individual check of /livez and /readyz passing (?verbose) and HTTP 200, got %s", host, strings.Join(problems, "; "))
	}
	for _, ep := range healthEndpoints {
		framework.Measure(fmt.Sprintf("individual checks of %s passing", ep), float64(counts[ep]), "checks")
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
