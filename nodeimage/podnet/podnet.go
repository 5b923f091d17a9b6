// Package podnet is kubeproof's own pod network for kind clusters: every node
// gives its pods addresses from its PodCIDR through the standard ptp and
// host-local CNI plugins, and a route to each other node's PodCIDR via that
// node's InternalIP. Nodes of a kind cluster share one L2 network, so plain
// routes are enough: no encapsulation, no MTU overhead.
package podnet

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// routeProtocol marks the routes this agent owns, so that it removes only
// its own when a node goes away (values above 4 are free for daemons).
const routeProtocol = netlink.RouteProtocol(117)

// Agent keeps one node's CNI config and routes in line with the cluster.
type Agent struct {
	Client   kubernetes.Interface
	NodeName string
	// CNIConfPath is where the CNI config list is written.
	CNIConfPath string
	// MTU of pod interfaces; 0 means 1500.
	MTU int
}

// Run watches nodes until ctx ends, reconciling after every change and at
// least once a minute (a route removed by hand comes back).
func (a *Agent) Run(ctx context.Context) error {
	factory := informers.NewSharedInformerFactory(a.Client, time.Minute)
	nodes := factory.Core().V1().Nodes()
	changed := make(chan struct{}, 1)
	poke := func(any) {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	if _, err := nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    poke,
		UpdateFunc: func(_, n any) { poke(n) },
		DeleteFunc: poke,
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), nodes.Informer().HasSynced) {
		return fmt.Errorf("node informer did not sync")
	}
	for {
		list, err := nodes.Lister().List(labels.Everything())
		if err != nil {
			return err
		}
		if err := a.reconcile(list); err != nil {
			log.Printf("reconcile: %v", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-time.After(time.Minute):
		}
	}
}

func (a *Agent) reconcile(nodes []*corev1.Node) error {
	want := map[string]net.IP{} // remote PodCIDR -> gateway node IP
	for _, n := range nodes {
		if n.Name == a.NodeName {
			if err := a.writeCNIConfig(n); err != nil {
				return err
			}
			continue
		}
		ip := internalIP(n)
		if ip == nil {
			continue
		}
		for _, cidr := range podCIDRs(n) {
			if (cidr.IP.To4() != nil) == (ip.To4() != nil) {
				want[cidr.String()] = ip
			}
		}
	}
	return syncRoutes(want)
}

func syncRoutes(want map[string]net.IP) error {
	have, err := netlink.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Protocol: routeProtocol}, netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		return fmt.Errorf("list routes: %w", err)
	}
	for _, r := range have {
		if r.Dst != nil {
			if gw, ok := want[r.Dst.String()]; ok && gw.Equal(r.Gw) {
				delete(want, r.Dst.String())
				continue
			}
		}
		if err := netlink.RouteDel(&r); err != nil {
			log.Printf("delete stale route %v: %v", r.Dst, err)
		} else {
			log.Printf("deleted route %v via %v", r.Dst, r.Gw)
		}
	}
	for cidr, gw := range want {
		_, dst, _ := net.ParseCIDR(cidr)
		route := &netlink.Route{Dst: dst, Gw: gw, Protocol: routeProtocol}
		if err := netlink.RouteReplace(route); err != nil {
			return fmt.Errorf("route %s via %s: %w", cidr, gw, err)
		}
		log.Printf("route %s via %s", cidr, gw)
	}
	return nil
}

// writeCNIConfig writes the config list once the node has a PodCIDR; the
// kubelet reports the node network ready as soon as it appears.
func (a *Agent) writeCNIConfig(n *corev1.Node) error {
	cidrs := podCIDRs(n)
	if len(cidrs) == 0 {
		return nil
	}
	mtu := a.MTU
	if mtu == 0 {
		mtu = 1500
	}
	var ranges [][]map[string]string
	var routes []map[string]string
	for _, c := range cidrs {
		ranges = append(ranges, []map[string]string{{"subnet": c.String()}})
		if c.IP.To4() != nil {
			routes = append(routes, map[string]string{"dst": "0.0.0.0/0"})
		} else {
			routes = append(routes, map[string]string{"dst": "::/0"})
		}
	}
	conf := map[string]any{
		"cniVersion": "0.4.0",
		"name":       "kubeproof",
		"plugins": []any{
			map[string]any{
				"type":   "ptp",
				"mtu":    mtu,
				"ipMasq": false,
				"ipam": map[string]any{
					"type": "host-local",
					// On tmpfs: a rebooted node starts with a clean pool.
					"dataDir": "/run/cni-ipam-state",
					"ranges":  ranges,
					"routes":  routes,
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	data, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return err
	}
	if old, err := os.ReadFile(a.CNIConfPath); err == nil && string(old) == string(data) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(a.CNIConfPath), 0o755); err != nil {
		return err
	}
	tmp := a.CNIConfPath + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	// The kubelet reads every file in the directory: rename, never a partial write.
	if err := os.Rename(tmp, a.CNIConfPath); err != nil {
		return err
	}
	log.Printf("wrote %s for %v", a.CNIConfPath, cidrs)
	return nil
}

func podCIDRs(n *corev1.Node) []*net.IPNet {
	raw := n.Spec.PodCIDRs
	if len(raw) == 0 && n.Spec.PodCIDR != "" {
		raw = []string{n.Spec.PodCIDR}
	}
	var out []*net.IPNet
	for _, s := range raw {
		if _, c, err := net.ParseCIDR(s); err == nil {
			out = append(out, c)
		}
	}
	return out
}

func internalIP(n *corev1.Node) net.IP {
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			if ip := net.ParseIP(a.Address); ip != nil && ip.To4() != nil {
				return ip
			}
		}
	}
	return nil
}
