// Package nodes checks the nodes themselves before anything runs on them:
// every node Ready, under no pressure, and within the version skew policy.
package nodes
