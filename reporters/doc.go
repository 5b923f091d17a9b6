// Package reporters turns a run's results (package results, the single
// source) into the views people and machines read: JUnit XML for CI, a
// terminal summary, and the certification report.
package reporters
