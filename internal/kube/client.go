package kube

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Client bundles a typed clientset with the config it came from (exec and
// port-forward need the config).
type Client struct {
	kubernetes.Interface
	Config *rest.Config
	// ContextName is the kubeconfig context in use.
	ContextName string
}

// NewClient loads a kubeconfig with kubectl's rules: an explicit path, else
// $KUBECONFIG, else ~/.kube/config; context "" is the current one.
func NewClient(kubeconfig, context string) (*Client, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context})
	cfg, err := loader.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	raw, err := loader.RawConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	name := raw.CurrentContext
	if context != "" {
		name = context
	}
	// Specs run many clients in parallel; client-go's default 5 QPS would
	// make waiting loops measure the rate limiter, not the cluster.
	cfg.QPS, cfg.Burst = 50, 100
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return refusalCounter{rt} })
	// The typed clients speak protobuf, as kubectl and the upstream e2e
	// do: the API server encodes it for a fraction of JSON's CPU, and the
	// checks' watches and lists are most of what it serves during a run.
	typed := rest.CopyConfig(cfg)
	typed.ContentType = runtime.ContentTypeProtobuf
	typed.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	cs, err := kubernetes.NewForConfig(typed)
	if err != nil {
		return nil, err
	}
	return &Client{Interface: cs, Config: cfg, ContextName: name}, nil
}

// KubeconfigFile is the one file a program that reads a single kubeconfig
// (e2e.test) is given for kubectl's rules: path if set, else the first of
// $KUBECONFIG, else ~/.kube/config.
func KubeconfigFile(path string) string {
	if path != "" {
		return path
	}
	if env := os.Getenv("KUBECONFIG"); env != "" {
		return filepath.SplitList(env)[0]
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".kube", "config")
}
