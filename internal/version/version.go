// Package version is kubeproof's version, set at build time:
// go build -ldflags "-X github.com/kubeproof/kubeproof/internal/version.Version=..."
// (make build sets it from git describe).
package version

// Version is "dev" in a build that did not set it.
var Version = "dev"
