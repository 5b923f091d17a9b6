package kindcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/kind/pkg/cluster"
	kindcmd "sigs.k8s.io/kind/pkg/cmd"

	"github.com/kubeproof/kubeproof/cluster/dockerup"
	"github.com/kubeproof/kubeproof/fixtures/meta"
	"github.com/kubeproof/kubeproof/internal/kindstate"
	"github.com/kubeproof/kubeproof/internal/paths"
	"github.com/kubeproof/kubeproof/nodeimage"
)

// DefaultName is the cluster name used when none is given.
const DefaultName = "kubeproof"

// The kinds of failure a caller may want to tell apart.
var (
	ErrBadConfig = errors.New("bad cluster config")
	ErrNoImage   = errors.New("node image missing")
	ErrExists    = errors.New("cluster exists")
	ErrNotReady  = errors.New("cluster not ready")
)

// CreateOptions describe one cluster.
type CreateOptions struct {
	Name string
	// Config is a kind config file or the name of a shipped one ("" = default).
	Config string
	// Image is any kind node image; "" means kubeproof's own for this source tree.
	Image string
	// KubeconfigPath receives the cluster's kubeconfig; "" means
	// ~/.kube/kubeproof-<name>.yaml.
	KubeconfigPath string
	// Retain keeps a cluster that failed to become ready, for debugging.
	Retain bool
	// ReadyTimeout bounds the wait for nodes and kube-system pods.
	ReadyTimeout time.Duration
	// LogsDir receives exported logs when creation fails.
	LogsDir string
	// RunID is the run the cluster is created for, which deletes it at its
	// end ("" for a cluster the user keeps): `kubeproof cleanup` removes it
	// if that run's process was killed first.
	RunID string
	Out   io.Writer
}

// Cluster is a created cluster and how long each step took.
type Cluster struct {
	Name           string
	KubeconfigPath string
	Image          string
	Timings        []Timing
}

// Timing is the duration of one creation step.
type Timing struct {
	Step     string
	Duration time.Duration
}

func provider() *cluster.Provider {
	return cluster.NewProvider(cluster.ProviderWithDocker(), cluster.ProviderWithLogger(kindcmd.NewLogger()))
}

// Create brings up a kind cluster and returns once every node and every
// kube-system pod is Ready. On failure it exports the logs and, unless
// Retain is set, deletes what it created.
func Create(ctx context.Context, o CreateOptions) (*Cluster, error) {
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 5 * time.Minute
	}
	cfg, err := LoadConfig(o.Config)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	if o.KubeconfigPath == "" {
		if o.KubeconfigPath, err = DefaultKubeconfigPath(o.Name); err != nil {
			return nil, err
		}
	}
	if err := dockerup.Check(ctx); err != nil {
		return nil, err
	}
	image, err := resolveImage(ctx, o.Image)
	if err != nil {
		return nil, err
	}
	p := provider()
	existing, err := p.List()
	if err != nil {
		return nil, fmt.Errorf("list kind clusters: %w", err)
	}
	if slices.Contains(existing, o.Name) {
		return nil, fmt.Errorf("%w: a kind cluster named %q already exists: delete it with `kubeproof cluster delete --name %s` or pick another --name", ErrExists, o.Name, o.Name)
	}
	// Tells a reader of the nodes who made them. It is not consent to
	// break the cluster: anyone who can patch nodes can set a label; the
	// local record (internal/kindstate) decides that.
	for i := range cfg.Nodes {
		if cfg.Nodes[i].Labels == nil {
			cfg.Nodes[i].Labels = map[string]string{}
		}
		cfg.Nodes[i].Labels[meta.LabelCreatedBy] = meta.ManagedBy
	}
	if cgroupV1() {
		cfg.KubeadmConfigPatches = append(cfg.KubeadmConfigPatches, failCgroupV1Patch)
	}
	c := &Cluster{Name: o.Name, KubeconfigPath: o.KubeconfigPath, Image: image}
	step := func(name string, f func() error) error {
		start := time.Now()
		err := f()
		c.Timings = append(c.Timings, Timing{Step: name, Duration: time.Since(start)})
		return err
	}
	fail := func(err error) (*Cluster, error) {
		dir := o.LogsDir
		if dir == "" {
			dir = filepath.Join(os.TempDir(), "kubeproof-logs", o.Name+"-"+time.Now().Format("20060102-150405"))
		}
		if lerr := p.CollectLogs(o.Name, dir); lerr != nil {
			fmt.Fprintf(o.Out, "warning: export logs: %v\n", lerr)
		} else {
			fmt.Fprintf(o.Out, "logs exported to %s\n", dir)
		}
		if o.Retain {
			fmt.Fprintf(o.Out, "cluster %s retained for debugging (KUBECONFIG=%s)\n", o.Name, o.KubeconfigPath)
		} else if derr := p.Delete(o.Name, o.KubeconfigPath); derr != nil {
			fmt.Fprintf(o.Out, "warning: delete cluster %s: %v\n", o.Name, derr)
		} else if ferr := kindstate.Forget(o.Name); ferr != nil {
			fmt.Fprintf(o.Out, "warning: %v\n", ferr)
		}
		return nil, err
	}
	err = step("kind create (nodes, kubeadm, CNI)", func() error {
		return p.Create(o.Name,
			cluster.CreateWithV1Alpha4Config(cfg),
			cluster.CreateWithNodeImage(image),
			cluster.CreateWithKubeconfigPath(o.KubeconfigPath),
			// We keep failed nodes ourselves to export their logs first.
			cluster.CreateWithRetain(true),
			cluster.CreateWithDisplayUsage(false),
			cluster.CreateWithDisplaySalutation(false),
		)
	})
	if err != nil {
		return fail(fmt.Errorf("create kind cluster %s: %w", o.Name, err))
	}
	server, client, err := clientFor(o.KubeconfigPath)
	if err != nil {
		return fail(err)
	}
	// The local record is what makes the cluster kubeproof's own (consent
	// to break it): see internal/kindstate.
	if err := kindstate.Remember(o.Name, server, o.RunID); err != nil {
		return fail(fmt.Errorf("record kind cluster %s as kubeproof's: %w", o.Name, err))
	}
	if err := step("isolate cluster DNS", func() error { return IsolateDNS(ctx, client) }); err != nil {
		return fail(err)
	}
	if err := step("wait for nodes and kube-system pods Ready", func() error { return WaitReady(ctx, client, o.ReadyTimeout) }); err != nil {
		return fail(fmt.Errorf("%w: %w", ErrNotReady, err))
	}
	return c, nil
}

// resolveImage checks that the node image exists locally: nothing can be pulled.
func resolveImage(ctx context.Context, image string) (string, error) {
	if image == "" {
		dir, err := paths.SourceDir()
		if err != nil {
			return "", fmt.Errorf("%w: %w (or pass --image)", ErrNoImage, err)
		}
		if image, err = nodeimage.Tag(dir, nodeimage.DefaultKubernetesVersion); err != nil {
			return "", err
		}
	}
	if !nodeimage.Exists(ctx, image) {
		return "", fmt.Errorf("%w: node image %s is not in the local Docker: build it with `make node-image` (kubeproof image build-node), or pass --image", ErrNoImage, image)
	}
	return image, nil
}

// Delete removes a cluster and its kubeconfig; a missing cluster is not an error.
func Delete(name, kubeconfigPath string) error {
	if kubeconfigPath == "" {
		var err error
		if kubeconfigPath, err = DefaultKubeconfigPath(name); err != nil {
			return err
		}
	}
	if err := provider().Delete(name, kubeconfigPath); err != nil {
		// Another delete may be removing the same containers (a killed
		// run's, which the Docker engine finishes): its removal makes ours
		// fail. What counts is that none is left.
		if err := removeNodes(name, time.Minute); err != nil {
			return err
		}
		if err := provider().Delete(name, kubeconfigPath); err != nil {
			return fmt.Errorf("delete kind cluster %s: %w", name, err)
		}
	}
	if err := kindstate.Forget(name); err != nil {
		return err
	}
	if err := os.Remove(kubeconfigPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// removeNodes removes cluster name's node containers, waiting out a
// removal another process has under way ("already in progress", "No such
// container"), until none is left or bound has passed.
func removeNodes(name string, bound time.Duration) error {
	deadline := time.Now().Add(bound)
	for {
		left, err := nodeContainers(name)
		if err != nil {
			return err
		}
		if len(left) == 0 {
			return nil
		}
		out, err := exec.Command("docker", append([]string{"rm", "-f", "-v"}, left...)...).CombinedOutput()
		if err == nil {
			return nil
		}
		concurrent := strings.Contains(string(out), "already in progress") || strings.Contains(string(out), "No such container")
		if !concurrent || time.Now().After(deadline) {
			return fmt.Errorf("delete kind cluster %s: docker rm %v: %v: %s", name, left, err, strings.TrimSpace(string(out)))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// nodeContainers lists the IDs of cluster name's node containers.
func nodeContainers(name string) ([]string, error) {
	out, err := exec.Command("docker", "ps", "-aq", "--filter", "label=io.x-k8s.kind.cluster="+name).Output()
	if err != nil {
		return nil, fmt.Errorf("list the containers of kind cluster %s: %w", name, err)
	}
	return strings.Fields(string(out)), nil
}

// List returns the names of the kind clusters on this machine.
func List() ([]string, error) { return provider().List() }

// ExportLogs writes the cluster's node logs (journals, containers, pods) to dir.
func ExportLogs(name, dir string) error { return provider().CollectLogs(name, dir) }

// DefaultKubeconfigPath is where a cluster's kubeconfig goes by default.
func DefaultKubeconfigPath(name string) (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".kube", "kubeproof-"+name+".yaml"), nil
}

// clientFor returns the API server's URL and a client for it.
func clientFor(kubeconfig string) (string, kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return "", nil, fmt.Errorf("load kubeconfig %s: %w", kubeconfig, err)
	}
	c, err := kubernetes.NewForConfig(cfg)
	return cfg.Host, c, err
}
