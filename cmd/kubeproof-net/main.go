// Command kubeproof-net is the pod network agent of kubeproof's node image:
// it runs on every node (a hostNetwork DaemonSet) and keeps the node's CNI
// config and its routes to the other nodes' pods up to date.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeproof/kubeproof/nodeimage/podnet"
)

func main() {
	confPath := flag.String("cni-conf", "/etc/cni/net.d/10-kubeproof.conflist", "CNI config list to write")
	mtu := flag.Int("mtu", 1500, "MTU of pod interfaces")
	flag.Parse()
	node := os.Getenv("NODE_NAME")
	if node == "" {
		log.Fatal("NODE_NAME is not set (give it through the downward API)")
	}
	cfg, err := restConfig()
	if err != nil {
		log.Fatalf("kubernetes client config: %v", err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	agent := &podnet.Agent{Client: client, NodeName: node, CNIConfPath: *confPath, MTU: *mtu}
	if err := agent.Run(ctx); err != nil {
		log.Fatal(err)
	}
}

// restConfig talks to the API server directly when CONTROL_PLANE_ENDPOINT is
// set: the pod network must come up before kube-proxy serves the
// kubernetes Service address.
func restConfig() (*rest.Config, error) {
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	}
	if ep := os.Getenv("CONTROL_PLANE_ENDPOINT"); ep != "" {
		cfg.Host = "https://" + ep
	}
	return cfg, nil
}
