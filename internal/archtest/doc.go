// Package archtest holds the test that keeps kubeproof's layers honest:
// imports point down the layer table of docs/architecture.md, never up or
// sideways, and the binaries link only what their layer allows.
package archtest
