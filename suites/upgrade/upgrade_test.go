package upgrade

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/version"
)

func TestKubeletSkew(t *testing.T) {
	node := func(name, kubelet string) corev1.Node {
		return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{KubeletVersion: kubelet}}}
	}
	to := version.MustParseGeneric("v1.35")
	got := kubeletSkew([]corev1.Node{node("a", "v1.34.4"), node("b", "v1.32.0"), node("c", "v1.31.9"), node("d", "v1.36.0"), node("e", "x")}, to)
	want := []string{"node c kubelet v1.31.9 would be 4 minor versions behind", "node d kubelet v1.36.0 is newer", `node e kubelet version "x" unreadable`}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %d problems", got, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i], w) {
			t.Errorf("problem %d: got %q, want it to start with %q", i, got[i], w)
		}
	}
}

// The API server's own metric lines, as 1.34 prints them.
const metricsPage = `# HELP apiserver_request_total [STABLE] Counter of apiserver requests.
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",component="apiserver",verb="GET"} 12
# HELP apiserver_requested_deprecated_apis [STABLE] Gauge of deprecated APIs that have been requested, broken out by API group, version, resource, subresource, and removed_release.
# TYPE apiserver_requested_deprecated_apis gauge
apiserver_requested_deprecated_apis{group="",removed_release="",resource="endpoints",subresource="",version="v1"} 1
apiserver_requested_deprecated_apis{group="flowcontrol.apiserver.k8s.io",removed_release="1.35",resource="flowschemas",subresource="status",version="v1beta9"} 1
apiserver_requested_deprecated_apis{group="resource.k8s.io",removed_release="1.38",resource="deviceclasses",subresource="",version="v1beta1"} 1
apiserver_requested_deprecated_apis{group="e2e.kubeproof.io",removed_release="",resource="widgets",subresource="",version="v1beta1"} 1
`

func TestDeprecatedInUse(t *testing.T) {
	removed, deprecated, err := deprecatedInUse(strings.NewReader(metricsPage), version.MustParseGeneric("v1.35.4"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"flowcontrol.apiserver.k8s.io/v1beta9 flowschemas/status (removed in 1.35)"}; !slices.Equal(removed, want) {
		t.Errorf("removed: got %q, want %q", removed, want)
	}
	want := []string{"e2e.kubeproof.io/v1beta1 widgets (deprecated, no removal announced)", "resource.k8s.io/v1beta1 deviceclasses (deprecated, removed in 1.38)", "v1 endpoints (deprecated, no removal announced)"}
	if !slices.Equal(deprecated, want) {
		t.Errorf("deprecated: got %q, want %q", deprecated, want)
	}
	// Nothing requested: the metric has no series at all.
	if r, d, err := deprecatedInUse(strings.NewReader("# HELP x y\n"), version.MustParseGeneric("v1.35")); err != nil || len(r)+len(d) != 0 {
		t.Errorf("no series: got %q %q %v", r, d, err)
	}
}
