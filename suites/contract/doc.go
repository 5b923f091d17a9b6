// Package contract is what the runner (`kubeproof run`) and the suites
// agree on, and nothing else: the label registry and the profiles built on
// it, the settings the runner hands the suites (one struct that registers
// its flags and renders itself as arguments), the progress events the
// suites write and the runner tails, and the names of the report entries
// the results model reads. It is a leaf: it imports neither Ginkgo nor
// client-go, so the kubeproof binary links none of the suites' globals.
package contract
