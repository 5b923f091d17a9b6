// Package upgrade judges a cluster against the Kubernetes version it is
// about to be upgraded to (--target-version): what would stop the
// upgrade the way kubeadm documents it (control plane first, then each
// node drained in turn) before it starts. The pre-upgrade profile runs
// these checks with the core ones.
package upgrade
