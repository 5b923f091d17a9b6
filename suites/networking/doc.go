// Package networking checks pod networking: pod-to-pod on one node and
// across nodes, node-to-pod and pod-to-node, cluster DNS, large transfers
// and pod addressing.
package networking
