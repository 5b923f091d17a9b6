// Package bundle writes the folder a product submits for CNCF Kubernetes
// certification, and checks it locally the way the CNCF bot will.
//
// A product is certified when a pull request to github.com/cncf/k8s-conformance
// adds vX.Y/<product>/ holding README.md (how to reproduce), PRODUCT.yaml,
// and the e2e.log and junit_01.xml of an upstream e2e.test run of the
// [Conformance] specs. Write lays that folder out; Verify applies the
// rules below, one Check each, in this order. The bot is
// kubernetes-sigs/verify-conformance (a Prow plugin; it was
// cncf-infra/verify-conformance): its rules are the scenarios of
// kodata/features/verify-conformance.feature, implemented in
// internal/suite/suite.go. cncf/k8s-conformance instructions.md
// ("Contents of the PR", "PRODUCT.yaml", "Requirements") and reviewing.md
// describe the same rules for people.
//
//  1. required files: README.md, PRODUCT.yaml, e2e.log and junit_01.xml are
//     there and not empty (feature: "submission contains all required
//     files"; instructions.md, "Contents of the PR").
//  2. no extra files: nothing else is in the folder (feature: "submission
//     only contains required files"; instructions.md still calls a
//     sonobuoy.tar.gz optional, but the bot rejects it).
//  3. folder layout: the folder is v1.NN/<product> (feature: "submission
//     has files in structure of releaseversion/productname/", pattern
//     (v1.[0-9]{2})/(.*)). The CNCF asks only for "a short subdirectory
//     name"; Write names it after PRODUCT.yaml's name, lower case, with
//     dashes.
//  4. product fields: PRODUCT.yaml parses and sets vendor, name, version,
//     type, description, website_url, documentation_url and
//     contact_email_address (feature: "the PRODUCT.yaml metadata contains
//     all required fields"; instructions.md#productyaml, where repo_url
//     and product_logo_url are optional).
//  5. product URLs and email: website_url, repo_url, documentation_url and
//     product_logo_url, when set, are URLs, and contact_email_address a
//     mail address (feature: "the URL and email fields in the PRODUCT.yaml
//     are valid"). We want absolute http(s) URLs; the bot's
//     url.ParseRequestURI also takes a bare path.
//  6. product type: type is "distribution", "hosted platform" or
//     "installer" (feature: "the type field in PRODUCT.yaml is valid").
//  7. supported release: the folder's release is the newest minor
//     released on the given day or one of the two before it. The bot
//     compares with the stable.txt it caches (kodata/metadata/stable.txt,
//     updated on each release day) minus lastSupportingVersions = 2
//     (suite.go, itIsAValidAndSupportedRelease); instructions.md's
//     requirement 11 says "the current release version and two version
//     prior". We hold the release days in a table (releases.go, from
//     kubernetes/sig-release releases/release-X.Y/README.md), so the rule
//     is driven by the day passed in; when the day is too far past the
//     table's last minor, the check fails and asks for the table to be
//     updated. The certification terms
//     (terms-conditions/Certified_Kubernetes_Terms.md) are narrower for a
//     first certification (the current minor and the one before); the bot
//     applies three.
//  8. e2e.log version: the log's "e2e test version: vX.Y.Z" line (logged
//     by kubernetes test/e2e/e2e.go) has the folder's minor
//     (instructions.md requirement 10; the bot checked it with
//     ^.*e2e test version: (v1.[0-9]{2}(.[0-9]{1,2})?)$ until commit
//     ce6b4589, "Remove e2e.log usage", 2023). Ginkgo prints the line only
//     in a verbose run (-v), so a quiet log fails here.
//  9. full conformance run: junit_01.xml's properties, which Ginkgo v2
//     writes for every run, show focus \[Conformance\] and no skip, label
//     or file filter, and no dry run. Otherwise the run was partial and is
//     reported "not valid for certification" (instructions.md: "A valid
//     certification run may not skip any conformance tests ...
//     certification runs require E2E_FOCUS=\[Conformance\] and no value for
//     E2E_SKIP"; Sonobuoy's certified-conformance mode and Hydrophone's
//     --conformance set exactly that focus, see hydrophone
//     pkg/common/args.go). The bot has no such check; a partial run fails
//     its required-tests check instead.
//  10. required specs: every spec of the release's conformance.yaml
//     (kubernetes test/conformance/testdata/conformance.yaml) ran: it is a
//     testcase of junit_01.xml that is not skipped (feature: "all required
//     conformance tests in the junit_01.xml are present"). As in the bot's
//     GetRequiredTests, a spec is required from the first release its
//     release field lists; JUnit names are the codename after "[It] "
//     (kubernetes test/e2e/framework/internal/junit/junit.go omits labels).
//     The bot reports missing and failed specs together; here a failed
//     spec is the next check's.
//  11. junit passed: no testcase failed: no <failure> or <error> element
//     and no failed, panicked, timedout, interrupted or aborted status
//     (feature: "all tests pass"; onsi/ginkgo v2 reporters/junit_report.go
//     for the elements). The bot looks only at [Conformance] testcases;
//     we also count suite nodes such as [SynchronizedBeforeSuite].
//  12. e2e.log passed: the log ends with Ginkgo's "SUCCESS! -- N Passed |
//     0 Failed | ..." and shows no spec failing ("• [FAILED] ..."),
//     see onsi/ginkgo v2 reporters/default_reporter.go (instructions.md
//     requirement 13; the bot read these lines before 2023).
//  13. junit matches e2e.log: both show the same [Conformance] specs
//     running (instructions.md requirement 14, dropped by the bot in
//     commit ce6b4589). The log names specs only when verbose: each one's
//     block between "------------------------------" lines holds its name,
//     followed by its labels, and its result, "• [7.766 seconds]".
//
// Rules the bot applies to the pull request rather than the folder are
// not checked here: the title ("Conformance results for v1.NN/<product>"),
// a single commit, one product per pull request, and that website_url,
// repo_url and documentation_url answer with text/html (that needs the
// network).
package bundle
