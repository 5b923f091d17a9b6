// Package e2e holds kubeproof's own end-to-end tests: they build the node
// image, create real kind clusters and prove that kubeproof's checks pass
// on healthy clusters and fail, for the right reason, on broken ones.
// Run with: make e2e (go test -tags e2e ./test/e2e/...).
package e2e
