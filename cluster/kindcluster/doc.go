// Package kindcluster creates, waits for, inspects and deletes the kind
// clusters kubeproof runs on, through kind's Go packages and the node image
// built by package nodeimage.
package kindcluster
