// Package kindconfigs embeds the kind cluster topologies kubeproof ships.
package kindconfigs

import "embed"

// FS holds every *.yaml of this directory.
//
//go:embed *.yaml
var FS embed.FS

// Default is the topology `kubeproof cluster create` uses without --config.
const Default = "three-node.yaml"
