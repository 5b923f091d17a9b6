// Package reporters turns a run's results (package results, the single
// source) into the views people and machines read: JUnit XML for CI, a
// terminal summary, the HTML certification report (html), a Markdown
// summary for CI pages and pull requests (markdown), and the comparison of
// two runs (diff). An upgrade rehearsal has its own model (upgrade,
// upgrade.json) and HTML view (upgradehtml).
package reporters
