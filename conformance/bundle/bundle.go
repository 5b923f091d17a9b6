package bundle

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"
)

// The four files of a submission folder (cncf/k8s-conformance
// instructions.md, "Contents of the PR").
const (
	readmeFile  = "README.md"
	productFile = "PRODUCT.yaml"
	logFile     = "e2e.log"
	junitFile   = "junit_01.xml"
)

// requiredFiles is the bot's list, in its order: a folder holds these and
// nothing else.
var requiredFiles = []string{readmeFile, productFile, logFile, junitFile}

// Spec is one required conformance spec, an item of Kubernetes'
// test/conformance/testdata/conformance.yaml.
type Spec struct {
	// Name is the short test name (testname), e.g. "Pod Lifecycle, ...".
	Name string
	// Codename is the full Ginkgo spec text, ending in "[Conformance]";
	// junit_01.xml and e2e.log name specs by it.
	Codename string
	// Release lists the minors that added or changed the spec, e.g.
	// "v1.9, v1.18"; the spec is required from the first of them.
	Release string
	// File is the e2e source file that defines the spec.
	File string
}

// conformanceItem is one item of conformance.yaml.
type conformanceItem struct {
	Testname    string `json:"testname"`
	Codename    string `json:"codename"`
	Description string `json:"description"`
	Release     string `json:"release"`
	File        string `json:"file"`
}

// LoadRequired reads the required specs from a conformance.yaml, the list
// Kubernetes keeps at test/conformance/testdata/conformance.yaml.
func LoadRequired(path string) ([]Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load required specs: %w", err)
	}
	var items []conformanceItem
	if err := yaml.Unmarshal(data, &items); err != nil {
		return nil, fmt.Errorf("load required specs from %s: %w", path, err)
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("load required specs from %s: want a list of specs, got none", path)
	}
	specs := make([]Spec, 0, len(items))
	for i, item := range items {
		if item.Codename == "" {
			return nil, fmt.Errorf("load required specs from %s: want a codename in item %d (%q), got none", path, i+1, item.Testname)
		}
		specs = append(specs, Spec{Name: item.Testname, Codename: item.Codename, Release: item.Release, File: item.File})
	}
	return specs, nil
}

// Product is PRODUCT.yaml, the description of the certified product
// (cncf/k8s-conformance instructions.md#productyaml). The bot requires
// every field without omitempty to be set.
type Product struct {
	// Vendor is the legal entity certifying; it needs a signed
	// participation form on file with the CNCF.
	Vendor string `json:"vendor"`
	// Name is the product's name; Write derives the folder name from it.
	Name string `json:"name"`
	// Version is the product's version, not the Kubernetes version.
	Version string `json:"version"`
	// WebsiteURL is the product's information page (an http(s) URL).
	WebsiteURL string `json:"website_url"`
	// RepoURL is the source repository; expected for open-source products.
	RepoURL string `json:"repo_url,omitempty"`
	// DocumentationURL is the product's documentation (an http(s) URL).
	DocumentationURL string `json:"documentation_url"`
	// ProductLogoURL points at an SVG, AI or EPS logo that names the product.
	ProductLogoURL string `json:"product_logo_url,omitempty"`
	// Type is "distribution", "hosted platform" or "installer".
	Type string `json:"type"`
	// Description is one sentence describing the offering.
	Description string `json:"description"`
	// ContactEmailAddress reaches the product's maintainers.
	ContactEmailAddress string `json:"contact_email_address"`
}

// readProduct parses a PRODUCT.yaml.
func readProduct(path string) (Product, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Product{}, err
	}
	var p Product
	if err := yaml.Unmarshal(data, &p); err != nil {
		return Product{}, fmt.Errorf("parse %s: %w", path, err)
	}
	return p, nil
}

// Inputs are the artefacts of one conformance run that Write lays out.
type Inputs struct {
	// KubeVersion is the Kubernetes version tested, e.g. "v1.34.4"; its
	// minor names the release folder (v1.34).
	KubeVersion string
	// ProductFile is the path to the product's PRODUCT.yaml.
	ProductFile string
	// E2ELog and JUnit are the paths to the run's e2e.log and junit_01.xml.
	E2ELog, JUnit string
	// Reproduce is the exact commands that reproduce the run; README.md
	// shows them.
	Reproduce string
}

// Write lays out the submission folder <dir>/vX.Y/<product>/ with
// README.md, PRODUCT.yaml, e2e.log and junit_01.xml, and returns its path.
// PRODUCT.yaml and the logs are copied byte for byte. Write refuses a folder
// that already exists, so old evidence never mixes with new.
func Write(dir string, in Inputs) (folder string, err error) {
	release, err := releaseOf(in.KubeVersion)
	if err != nil {
		return "", fmt.Errorf("write bundle: %w", err)
	}
	if strings.TrimSpace(in.Reproduce) == "" {
		return "", errors.New("write bundle: want the commands that reproduce the run for README.md, got none")
	}
	product, err := readProduct(in.ProductFile)
	if err != nil {
		return "", fmt.Errorf("write bundle: %w", err)
	}
	name := folderName(product.Name)
	if name == "" {
		return "", fmt.Errorf("write bundle: want a product name in %s to name the folder, got %q", in.ProductFile, product.Name)
	}
	folder = filepath.Join(dir, release, name)
	if _, err := os.Stat(folder); err == nil {
		return "", fmt.Errorf("write bundle: %s already exists; remove it to write a fresh bundle", folder)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("write bundle: %w", err)
	}
	if err := os.MkdirAll(folder, 0o755); err != nil {
		return "", fmt.Errorf("write bundle: %w", err)
	}
	if err := fill(folder, product, in); err != nil {
		// The folder is ours and half written: leave nothing behind.
		return "", errors.Join(fmt.Errorf("write bundle %s: %w", folder, err), os.RemoveAll(folder))
	}
	return folder, nil
}

// fill writes the four files into a new folder.
func fill(folder string, product Product, in Inputs) error {
	copies := []struct{ from, to string }{
		{in.ProductFile, productFile},
		{in.E2ELog, logFile},
		{in.JUnit, junitFile},
	}
	for _, c := range copies {
		if err := copyFile(c.from, filepath.Join(folder, c.to)); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(folder, readmeFile), []byte(readme(product, in)), 0o644)
}

// copyFile copies a file byte for byte to a path that must not exist yet.
func copyFile(from, to string) (err error) {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, src.Close()) }()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		return errors.Join(fmt.Errorf("copy %s to %s: %w", from, to, err), dst.Close())
	}
	return dst.Close()
}

// readme is README.md: what was tested and how to reproduce it.
func readme(p Product, in Inputs) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s %s: Kubernetes %s conformance\n\n", p.Name, p.Version, in.KubeVersion)
	if p.Description != "" {
		fmt.Fprintf(&b, "%s\n\n", p.Description)
	}
	fmt.Fprintf(&b, "- Vendor: %s\n- Product: %s %s\n- Kubernetes: %s\n", p.Vendor, p.Name, p.Version, in.KubeVersion)
	if p.DocumentationURL != "" {
		fmt.Fprintf(&b, "- Documentation: %s\n", p.DocumentationURL)
	}
	b.WriteString("\n## How to reproduce\n\n")
	b.WriteString("Run these commands against a cluster of the product; they produce the e2e.log and junit_01.xml in this folder.\n\n")
	fmt.Fprintf(&b, "```sh\n%s\n```\n", strings.TrimSpace(in.Reproduce))
	return b.String()
}

// kubeVersion matches a Kubernetes version such as v1.34.4 or v1.35.0-rc.1.
var kubeVersion = regexp.MustCompile(`^v?([0-9]+)\.([0-9]+)(\.[0-9]+)?([-+].*)?$`)

// releaseOf returns the release folder name of a Kubernetes version:
// "v1.34" for "v1.34.4".
func releaseOf(version string) (string, error) {
	m := kubeVersion.FindStringSubmatch(version)
	if m == nil {
		return "", fmt.Errorf("want a Kubernetes version such as v1.34.4, got %q", version)
	}
	return "v" + m[1] + "." + m[2], nil
}

// folderName turns a product name into a folder name: lower case ASCII
// letters and digits, every other run of characters one "-". The CNCF
// only asks for "a short subdirectory name" (e.g. gke, openshift); this is
// our convention for one that is safe everywhere.
func folderName(product string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(product) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
			continue
		}
		if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}
