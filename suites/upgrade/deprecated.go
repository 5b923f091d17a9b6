package upgrade

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/util/version"

	"github.com/kubeproof/kubeproof/suites/framework"
)

// deprecatedMetric is the API server's record of the deprecated APIs
// requested since it started: group, version, resource, subresource and
// the release that removes it ("" when none is announced).
const deprecatedMetric = "apiserver_requested_deprecated_apis"

func noRemovedAPIInUse(ctx context.Context, f *framework.Framework) {
	to := target()
	// The text format, whatever the typed clients accept (protobuf).
	raw, err := f.Client.CoreV1().RESTClient().Get().AbsPath("/metrics").SetHeader("Accept", "text/plain").DoRaw(ctx)
	if err != nil {
		framework.Failf("read the API server's /metrics: %v", err)
	}
	removed, deprecated, err := deprecatedInUse(bytes.NewReader(raw), to)
	if err != nil {
		framework.Failf("the API server's %s: %v", deprecatedMetric, err)
	}
	for _, d := range deprecated {
		framework.Warn("requested since the API server started: %s", d)
	}
	framework.Measure("deprecated APIs requested", float64(len(removed)+len(deprecated)), "")
	if len(removed) > 0 {
		framework.Failf("APIs requested since the API server started (%s): want none that %s removes, got %d: %s", deprecatedMetric, framework.Context.TargetVersion, len(removed), strings.Join(removed, "; "))
	}
}

// deprecatedInUse reads the metric from the API server's metrics: the
// APIs requested that the target version no longer serves, and those only
// deprecated, a phrase each.
func deprecatedInUse(metrics io.Reader, to *version.Version) (removed, deprecated []string, err error) {
	// Only the metric's own lines: the rest of the page is not judged.
	var own bytes.Buffer
	sc := bufio.NewScanner(metrics)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, deprecatedMetric+"{") || strings.HasPrefix(line, deprecatedMetric+" ") ||
			strings.HasPrefix(line, "# HELP "+deprecatedMetric+" ") || strings.HasPrefix(line, "# TYPE "+deprecatedMetric+" ") {
			own.WriteString(line + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(&own)
	if err != nil {
		return nil, nil, err
	}
	for _, m := range families[deprecatedMetric].GetMetric() {
		if m.GetGauge().GetValue() == 0 {
			continue
		}
		l := map[string]string{}
		for _, p := range m.GetLabel() {
			l[p.GetName()] = p.GetValue()
		}
		api := l["version"]
		if l["group"] != "" {
			api = l["group"] + "/" + api
		}
		api += " " + l["resource"]
		if l["subresource"] != "" {
			api += "/" + l["subresource"]
		}
		gone := l["removed_release"]
		switch rv, perr := version.ParseGeneric(gone); {
		case gone == "":
			deprecated = append(deprecated, api+" (deprecated, no removal announced)")
		case perr == nil && (rv.Major() < to.Major() || rv.Major() == to.Major() && rv.Minor() <= to.Minor()):
			removed = append(removed, fmt.Sprintf("%s (removed in %s)", api, gone))
		default:
			deprecated = append(deprecated, fmt.Sprintf("%s (deprecated, removed in %s)", api, gone))
		}
	}
	slices.Sort(removed)
	slices.Sort(deprecated)
	return removed, deprecated, nil
}
