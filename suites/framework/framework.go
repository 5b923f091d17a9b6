package framework

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/version"

	"github.com/kubeproof/kubeproof/fixtures/meta"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/internal/proc"
	"github.com/kubeproof/kubeproof/suites/contract"
)

// Framework gives one spec its client and its own namespace.
type Framework struct {
	BaseName  string
	Client    *kube.Client
	Namespace string
	// usedPeers: the spec asked for the shared pods (see Peers), whose
	// namespace a failure then describes too.
	usedPeers bool
	// forwards reach the agents of the pods the spec sends requests from.
	forwards forwards
}

// New declares a framework for the specs of a container: each spec gets a
// fresh namespace labelled with the run ID, deleted when the spec ends,
// with diagnostics dumped first if the spec failed. Call it in a container
// node; it registers a BeforeEach.
func New(baseName string) *Framework {
	f := &Framework{BaseName: baseName}
	ginkgo.BeforeEach(func(ctx ginkgo.SpecContext) {
		f.Client = client()
		f.usedPeers = false
		ginkgo.DeferCleanup(f.forwards.closeAll)
		// Permission refusals seen while the spec runs go in its results.
		before, _ := kube.Refusals()
		ginkgo.DeferCleanup(func() {
			n, first := kube.Refusals()
			if n > before {
				ginkgo.AddReportEntry(contract.EntryRefused, first[min(before, len(first)):], ginkgo.ReportEntryVisibilityNever)
			}
		})
		// The shared pods do not live through disruptive checks, which
		// run after all others (Serial) and could take their nodes down.
		if ginkgo.CurrentSpecReport().IsSerial {
			releasePeers(ctx, true)
		}
		labels := RunLabels()
		labels[meta.LabelSpec] = sanitize(f.BaseName)
		if !needsMore(ginkgo.CurrentSpecReport().Labels()) {
			meta.Restricted(labels)
		}
		ns, err := f.Client.CreateNamespace(ctx, "kubeproof-"+sanitize(f.BaseName), labels, map[string]string{meta.AnnotationOwner: Owner()})
		if err != nil {
			Failf("%v", err)
		}
		f.Namespace = ns
		ginkgo.DeferCleanup(f.deleteNamespace)
		if err := copyPullSecret(ctx, f.Client, ns); err != nil {
			Failf("%v", err)
		}
		// Registered after the namespace cleanup, so it runs before it.
		ginkgo.DeferCleanup(f.dumpOnFailure)
	})
	return f
}

// RunLabels are the labels every object of this run carries.
func RunLabels() map[string]string {
	return meta.RunLabels(RunID())
}

// RunID is the run's ID: given by the runner, or derived from Ginkgo's
// random seed, which every parallel process shares.
func RunID() string {
	if Context.RunID == "" {
		Context.RunID = fmt.Sprintf("adhoc-%d", ginkgo.GinkgoRandomSeed())
	}
	return Context.RunID
}

var (
	clientOnce sync.Once
	sharedC    *kube.Client
	clientErr  error
)

func newClient() { sharedC, clientErr = kube.NewClient(Context.Kubeconfig, Context.Context) }

func client() *kube.Client {
	clientOnce.Do(newClient)
	if clientErr != nil {
		Failf("cluster client: %v", clientErr)
	}
	return sharedC
}

func (f *Framework) deleteNamespace() {
	c, ns := f.Client, f.Namespace
	deleteLater(time.Minute, func(ctx context.Context) { deleteNamespace(ctx, c, ns) })
}

// deleteNamespace deletes a namespace of the run, its pods at once: the
// spec is over, and the runner's sweep then finds nothing running.
func deleteNamespace(ctx context.Context, c *kube.Client, ns string) {
	if err := kube.DeleteNamespaceNow(ctx, c, ns); err != nil {
		fmt.Fprintf(os.Stderr, "cleanup: %v\n", err)
	}
}

var nonName = regexp.MustCompile(`[^a-z0-9-]+`)

func sanitize(s string) string {
	s = strings.Trim(nonName.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(s) > 40 {
		s = strings.TrimRight(s[:40], "-")
	}
	return s
}

// Create creates an object in the spec's namespace and registers its
// deletion right away.
func Create[T any, PT interface {
	*T
	metav1.Object
}](ctx context.Context, f *Framework, api interface {
	Create(context.Context, PT, metav1.CreateOptions) (PT, error)
	Delete(context.Context, string, metav1.DeleteOptions) error
}, obj PT) PT {
	ginkgo.GinkgoHelper()
	labels := obj.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	for k, v := range RunLabels() {
		labels[k] = v
	}
	obj.SetLabels(labels)
	created, err := api.Create(ctx, obj, metav1.CreateOptions{})
	if err != nil {
		Failf("create %T %s/%s: %v", obj, f.Namespace, obj.GetName(), err)
	}
	name := created.GetName()
	ginkgo.DeferCleanup(func() {
		deleteLater(30*time.Second, func(ctx context.Context) {
			err := api.Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
			if err != nil && !apierrors.IsNotFound(err) {
				fmt.Fprintf(os.Stderr, "cleanup: delete %T %s: %v\n", obj, name, err)
			}
		})
	})
	return created
}

// Pods is the pod API of the spec's namespace.
func (f *Framework) Pods() interface {
	Create(context.Context, *corev1.Pod, metav1.CreateOptions) (*corev1.Pod, error)
	Delete(context.Context, string, metav1.DeleteOptions) error
} {
	return f.Client.CoreV1().Pods(f.Namespace)
}

// Services is the service API of the spec's namespace.
func (f *Framework) Services() interface {
	Create(context.Context, *corev1.Service, metav1.CreateOptions) (*corev1.Service, error)
	Delete(context.Context, string, metav1.DeleteOptions) error
} {
	return f.Client.CoreV1().Services(f.Namespace)
}

// Owner is the process that owns this run's objects: the runner, or this
// process when the suites run without one.
func Owner() string {
	if Context.RunnerPID > 0 {
		return proc.Owner(Context.RunnerPID)
	}
	return proc.Owner(os.Getpid())
}

// ServerVersion is the API server's version, parsed, and as it gives it.
func (f *Framework) ServerVersion() (*version.Version, string) {
	ginkgo.GinkgoHelper()
	info, err := f.Client.Discovery().ServerVersion()
	if err != nil {
		Failf("API server version: %v", err)
	}
	v, err := version.ParseGeneric(info.GitVersion)
	if err != nil {
		Failf("API server version %q: %v", info.GitVersion, err)
	}
	return v, info.GitVersion
}
