// Package nodeimage builds kubeproof's kind node image with no registry:
// a Debian bookworm rootfs from debootstrap, Kubernetes, etcd and CoreDNS
// built from the Go module proxy, kubeproof's pod network agent and pause
// process, and the control-plane images preloaded into the node's
// containerd. The image tag carries a hash of every input, so an unchanged
// image is never rebuilt.
package nodeimage
