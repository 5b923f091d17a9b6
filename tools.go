//go:build tools

// Package tools pins the ginkgo CLI, which `make build` ships next to
// kubeproof to run the suites in parallel.
package tools

import _ "github.com/onsi/ginkgo/v2/ginkgo"
