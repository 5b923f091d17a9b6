package framework

import (
	"fmt"
	"net"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeproof/kubeproof/fixtures/wire"
)

// HostURL is the HTTP URL of path on host:port.
func HostURL(host string, port int32, path string) string {
	return "http://" + net.JoinHostPort(host, strconv.Itoa(int(port))) + path
}

// ServiceURL is the URL of path on a Service's first port, at its ClusterIP.
func ServiceURL(svc *corev1.Service, path string) string {
	return HostURL(svc.Spec.ClusterIP, svc.Spec.Ports[0].Port, path)
}

// PodURL is the URL of path on the workload's HTTP port of a pod, by pod IP.
func PodURL(p *corev1.Pod, path string) string {
	return HostURL(p.Status.PodIP, wire.HTTPPort, path)
}

// DescribeService names a Service in failure messages: "Service ns/web (10.96.3.4)".
func DescribeService(svc *corev1.Service) string {
	return fmt.Sprintf("Service %s/%s (%s)", svc.Namespace, svc.Name, svc.Spec.ClusterIP)
}
