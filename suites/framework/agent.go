package framework

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/onsi/ginkgo/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubeproof/kubeproof/fixtures/meta"
	"github.com/kubeproof/kubeproof/fixtures/wire"
	"github.com/kubeproof/kubeproof/internal/kube"
)

// forwards are a spec's port-forward connections to the agents of the
// pods it sends requests from, one per pod, closed when the spec ends.
type forwards struct {
	mu    sync.Mutex
	conns map[types.UID]*kube.Forward
}

// closeAll ends the connections; the spec is over.
func (fs *forwards) closeAll() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, c := range fs.conns {
		if err := c.Close(); err != nil {
			fmt.Fprintf(ginkgo.GinkgoWriter, "close a port-forward: %v\n", err)
		}
	}
	fs.conns = nil
}

// to returns the connection to a pod, opened on first use.
func (fs *forwards) to(c *kube.Client, p *corev1.Pod) (*kube.Forward, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fw, ok := fs.conns[p.UID]; ok {
		return fw, nil
	}
	fw, err := c.PortForward(p.Namespace, p.Name)
	if err != nil {
		return nil, err
	}
	if fs.conns == nil {
		fs.conns = map[types.UID]*kube.Forward{}
	}
	fs.conns[p.UID] = fw
	return fw, nil
}

// workload runs `workload ARGS...` in a pod's workload container and
// returns what it printed. A pod whose workload serves the agent (see
// meta.AnnotationAgentPort) runs it there, through a port-forward: a few
// milliseconds, where an exec starts a process in the container (about
// 100 ms of wall time and as much CPU on the 2-core kind cluster, for
// each of the ~80 requests a core run sends). Neither path crosses the pod
// network, which is what the requests themselves test. An error carries
// the workload's own (what it would exit 1 with).
func (f *Framework) workload(ctx context.Context, from *corev1.Pod, args ...string) (string, error) {
	port, err := strconv.Atoi(from.Annotations[meta.AnnotationAgentPort])
	if err != nil {
		return f.Client.Exec(ctx, from.Namespace, from.Name, "workload", append([]string{"/workload"}, args...)...)
	}
	fw, err := f.forwards.to(f.Client, from)
	if err != nil {
		return "", fmt.Errorf("workload %s in %s: %w", strings.Join(args, " "), DescribePod(from), err)
	}
	status, body, err := fw.Get(ctx, port, "/run?"+url.Values{"arg": args}.Encode())
	if err != nil {
		return "", fmt.Errorf("workload %s in %s: %w", strings.Join(args, " "), DescribePod(from), err)
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("workload %s in %s (its agent answered %d): %s", strings.Join(args, " "), DescribePod(from), status, strings.TrimSpace(string(body)))
	}
	return string(body), nil
}

// Exit makes a pod's workload exit at once with code (GET /exit on its
// HTTP port, through the pod's port-forward, not its agent: the agent
// dies with the process). The request gets no answer; the kubelet's
// restart of the container is the evidence a caller waits for.
func (f *Framework) Exit(ctx context.Context, p *corev1.Pod, code int) {
	ginkgo.GinkgoHelper()
	fw, err := f.forwards.to(f.Client, p)
	if err != nil {
		Failf("make %s exit: %v", DescribePod(p), err)
	}
	ctx, cancel := context.WithTimeout(ctx, RequestTimeout)
	defer cancel()
	_, _, _ = fw.Get(ctx, wire.HTTPPort, fmt.Sprintf("/exit?code=%d", code))
}
