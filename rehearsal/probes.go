package rehearsal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/kubeproof/kubeproof/fixtures/wire"
	"github.com/kubeproof/kubeproof/internal/kube"
)

// probeRate is each probe's requests per second: ten answers a second
// measure an outage to a tenth of a second.
const probeRate = 10

// probeTimeout is how long a request may take before it counts as failed:
// the suites' request timeout (a two-core machine running three nodes
// answers slowly while a profile run starts its pods, not wrongly).
const probeTimeout = 2 * time.Second

// sample is one request of a probe: when it was sent and whether it was
// answered.
type sample struct {
	at    time.Time
	ok    bool
	class string // the failure's class
}

// series is a probe's samples, from its many sources, as they come.
type series struct {
	mu      sync.Mutex
	samples map[string][]sample // source (a node, this machine) -> samples in order
	detail  string              // what else the probe saw, one line
}

func (s *series) add(source string, x sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.samples == nil {
		s.samples = map[string][]sample{}
	}
	s.samples[source] = append(s.samples[source], x)
}

// inClusterProbes is a DaemonSet whose pod on every node (control plane
// included) sends requests at probeRate to each target for the whole
// rehearsal: a DaemonSet's pods stay through drains, so every node keeps
// asking while its neighbours are upgraded.
func (w *workloads) inClusterProbes(ctx context.Context) (map[string]string, error) {
	targets := map[string]string{
		"clusterip/" + web:    fmt.Sprintf("http://%s:%d/hostname", w.webSvc.Spec.ClusterIP, w.webSvc.Spec.Ports[0].Port),
		"nodeport/" + web:     fmt.Sprintf("http://$(HOST_IP):%d/hostname", w.webSvc.Spec.Ports[0].NodePort),
		"clusterip/" + single: fmt.Sprintf("http://%s:%d/hostname", w.oneSvc.Spec.ClusterIP, w.oneSvc.Spec.Ports[0].Port),
		"dns":                 "dns:" + web + "." + w.ns + ".svc.cluster.local.",
	}
	tpl := w.server("probe", 0)
	base := tpl.Spec.Containers[0]
	tpl.Spec.Containers = nil
	var names []string
	for name := range targets {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		c := base
		c.Name = strings.ReplaceAll(name, "/", "-")
		c.Args = []string{"load", "--url", targets[name], fmt.Sprintf("--rate=%d", probeRate), "--interval=1s", fmt.Sprintf("--timeout=%s", probeTimeout), "--duration=3h"}
		c.Ports, c.ReadinessProbe = nil, nil
		c.Env = append(c.Env, corev1.EnvVar{Name: "HOST_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.hostIP"}}})
		tpl.Spec.Containers = append(tpl.Spec.Containers, c)
	}
	tpl.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
	_, err := w.c.AppsV1().DaemonSets(w.ns).Create(ctx, &appsv1.DaemonSet{ObjectMeta: w.meta("probe"), Spec: appsv1.DaemonSetSpec{
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "probe"}}, Template: tpl,
	}}, metav1.CreateOptions{})
	return targets, err
}

// probesRunning is "" once the probe DaemonSet runs on every node.
func (w *workloads) probesRunning(ctx context.Context) (string, error) {
	ds, err := w.c.AppsV1().DaemonSets(w.ns).Get(ctx, "probe", metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if ds.Status.DesiredNumberScheduled == 0 || ds.Status.NumberAvailable != ds.Status.DesiredNumberScheduled {
		return fmt.Sprintf("probe pods %d/%d running", ds.Status.NumberAvailable, ds.Status.DesiredNumberScheduled), nil
	}
	return "", nil
}

// collectInCluster reads every probe pod's output (the containers' logs,
// their earlier run too if one restarted) into one series per probe.
func (w *workloads) collectInCluster(ctx context.Context, into map[string]*series) error {
	pods, err := w.c.CoreV1().Pods(w.ns).List(ctx, metav1.ListOptions{LabelSelector: "app=probe"})
	if err != nil {
		return err
	}
	for _, p := range pods.Items {
		for _, st := range p.Status.ContainerStatuses {
			name := containerProbe(st.Name)
			runs := []bool{false}
			if st.RestartCount > 0 {
				runs = []bool{true, false}
			}
			for _, previous := range runs {
				logs, err := w.c.CoreV1().Pods(w.ns).GetLogs(p.Name, &corev1.PodLogOptions{Container: st.Name, Previous: previous}).DoRaw(ctx)
				if err != nil {
					return fmt.Errorf("read probe %s on node %s: %w", name, p.Spec.NodeName, err)
				}
				intervals, _, _ := wire.ParseIntervals(string(logs))
				s := into[name]
				if s == nil {
					s = &series{}
					into[name] = s
				}
				for _, iv := range intervals {
					addInterval(s, "node "+strings.TrimPrefix(p.Spec.NodeName, w.cluster+"-"), iv)
				}
			}
		}
	}
	return nil
}

// containerProbe is the probe a container name stands for.
func containerProbe(container string) string {
	for _, kind := range []string{"clusterip-", "nodeport-"} {
		if rest, ok := strings.CutPrefix(container, kind); ok {
			return strings.TrimSuffix(kind, "-") + "/" + rest
		}
	}
	return container
}

// addInterval spreads a one-second interval's answers over the second, in
// the order a paced load sends: answered first is as good a guess as any
// within a second, and the outage is measured across seconds.
func addInterval(s *series, source string, iv wire.Interval) {
	start := time.UnixMilli(iv.Start)
	n := iv.OK + iv.Failed
	classes := []string{}
	for class, k := range iv.Errors {
		for range k {
			classes = append(classes, class)
		}
	}
	sort.Strings(classes)
	for i := range n {
		at := start.Add(time.Duration(i) * time.Second / time.Duration(max(n, 1)))
		if i < iv.OK {
			s.add(source, sample{at: at, ok: true})
			continue
		}
		class := "failed"
		if j := i - iv.OK; j < len(classes) {
			class = classes[j]
		}
		s.add(source, sample{at: at, class: class})
	}
}

// apiProbe sends GETs of one object at probeRate from this machine until
// ctx ends: over one kept-alive connection, or a new connection each time
// (TCP and TLS handshakes included), as clients of both kinds do.
func apiProbe(ctx context.Context, cfg *rest.Config, path string, newConnections bool, into *series) error {
	transport := func() (http.RoundTripper, error) {
		c := rest.CopyConfig(cfg)
		// A dialer of its own keeps client-go from sharing a cached
		// transport: each call gets its own connections.
		c.Dial = (&net.Dialer{Timeout: time.Second}).DialContext
		return rest.TransportFor(c)
	}
	shared, err := transport()
	if err != nil {
		return err
	}
	url := strings.TrimSuffix(cfg.Host, "/") + path
	tick := time.NewTicker(time.Second / probeRate)
	defer tick.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return nil
		case at := <-tick.C:
			wg.Add(1)
			go func() {
				defer wg.Done()
				rt := shared
				if newConnections {
					var err error
					if rt, err = transport(); err != nil {
						into.add("this machine", sample{at: at, class: "config"})
						return
					}
					defer closeIdle(rt)
				}
				into.add("this machine", get(rt, url, at))
			}()
		}
	}
}

func closeIdle(rt http.RoundTripper) {
	if c, ok := rt.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func get(rt http.RoundTripper, url string, at time.Time) sample {
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return sample{at: at, class: errorClass(err)}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return sample{at: at, class: fmt.Sprintf("http-%d", resp.StatusCode)}
	}
	return sample{at: at, ok: true}
}

func errorClass(err error) string {
	var ne net.Error
	switch s := err.Error(); {
	case strings.Contains(s, "connection refused"):
		return "refused"
	case strings.Contains(s, "connection reset"), strings.Contains(s, "EOF"):
		return "reset"
	case errors.As(err, &ne) && ne.Timeout(), strings.Contains(s, "deadline"):
		return "timeout"
	}
	return "other"
}

// watchProbe writes a counter to a ConfigMap at probeRate and watches it
// from the first write's resourceVersion, resuming from the last event
// seen when the connection breaks (as informers do). Every write the API
// server acknowledged must arrive, once, in order: a write whose event
// never came is a failed sample at the time it was written.
func watchProbe(ctx context.Context, c *kube.Client, ns string, labels map[string]string) (*series, error) {
	cms := c.CoreV1().ConfigMaps(ns)
	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "watched", Labels: labels}, Data: map[string]string{"n": "0"}}, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	// The watch outlives ctx by the moment the last events take to come.
	watchCtx, stopWatch := context.WithCancel(context.Background())
	lw := &cache.ListWatch{WatchFunc: func(o metav1.ListOptions) (watch.Interface, error) {
		o.FieldSelector = "metadata.name=watched"
		return cms.Watch(watchCtx, o)
	}}
	type write struct {
		at time.Time
		n  int
	}
	var (
		mu      sync.Mutex
		written []write
		seen    = map[int]int{} // n -> times seen
		order   []int
		ended   = make(chan struct{})
		// relistedUpTo is the highest write a relist after 410 Gone saw:
		// the writes before it whose events the API server no longer had
		// reached the client as state, as an informer relists.
		relistedUpTo, relists, rewatches int
	)
	go func() {
		defer close(ended)
		rv := cm.ResourceVersion
		for watchCtx.Err() == nil {
			// A RetryWatcher resumes after a cut connection by itself; it
			// gives up on a refusal (a restarted API server answers 403
			// until its caches sync), and then a new one resumes from the
			// last event seen, as an informer's reflector would.
			rw, err := watchtools.NewRetryWatcherWithContext(watchCtx, rv, lw)
			if err != nil {
				time.Sleep(time.Second)
				continue
			}
			for ev := range rw.ResultChan() {
				o, ok := ev.Object.(*corev1.ConfigMap)
				if ev.Type == watch.Error || !ok {
					// Gone (410), as after the API server restarted:
					// what came since rv can no longer be watched, so
					// relist and go on from there. Any other error:
					// resume from rv.
					if err := apierrors.FromObject(ev.Object); apierrors.IsGone(err) || apierrors.IsResourceExpired(err) {
						if got, err := cms.Get(watchCtx, "watched", metav1.GetOptions{}); err == nil {
							rv = got.ResourceVersion
							var n int
							fmt.Sscan(got.Data["n"], &n)
							mu.Lock()
							relistedUpTo, relists = max(relistedUpTo, n), relists+1
							mu.Unlock()
						}
					} else {
						mu.Lock()
						rewatches++
						mu.Unlock()
					}
					rw.Stop()
					break
				}
				rv = o.ResourceVersion
				if ev.Type == watch.Modified {
					var n int
					fmt.Sscan(o.Data["n"], &n)
					mu.Lock()
					seen[n]++
					order = append(order, n)
					mu.Unlock()
				}
			}
			rw.Stop()
			select {
			case <-watchCtx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	tick := time.NewTicker(time.Second / probeRate)
	defer tick.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
		case at := <-tick.C:
			wctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
			cm.Data["n"] = fmt.Sprint(n)
			updated, err := cms.Update(wctx, cm, metav1.UpdateOptions{})
			cancel()
			if err == nil {
				cm = updated
				mu.Lock()
				written = append(written, write{at: at, n: n})
				mu.Unlock()
			} else if got, gerr := cms.Get(context.Background(), "watched", metav1.GetOptions{}); gerr == nil && got.Data["n"] == fmt.Sprint(n) {
				// The write landed though its answer was lost.
				cm = got
				mu.Lock()
				written = append(written, write{at: at, n: n})
				mu.Unlock()
			} else if gerr == nil {
				cm = got
			}
			continue
		}
		break
	}
	// The last writes' events get a moment to arrive.
	time.Sleep(2 * time.Second)
	stopWatch()
	<-ended
	mu.Lock()
	defer mu.Unlock()
	s := &series{}
	last, covered := 0, 0
	for _, w := range written {
		switch {
		case seen[w.n] == 0 && w.n <= relistedUpTo:
			covered++
			s.add("watch", sample{at: w.at, ok: true})
		case seen[w.n] == 0:
			s.add("watch", sample{at: w.at, class: "missed"})
		case seen[w.n] > 1:
			s.add("watch", sample{at: w.at, class: "repeated"})
		default:
			s.add("watch", sample{at: w.at, ok: true})
		}
	}
	for _, n := range order {
		if n < last {
			s.add("watch", sample{at: time.Now(), class: "out-of-order"})
		}
		last = n
	}
	events := 0
	for _, w := range written {
		if seen[w.n] > 0 {
			events++
		}
	}
	s.detail = fmt.Sprintf("%d of %d acknowledged writes seen as events, %d through %d relists after 410 Gone; %d re-watches after a refusal or a closed watch", events, len(written), covered, relists, rewatches)
	return s, nil
}
