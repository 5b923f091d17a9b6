package runner

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kubeproof/kubeproof/suites/contract"
	authv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"
)

// The printed roles grant exactly what preflight asks for: every review
// preflight makes is allowed by one printed rule, and every printed rule
// is asked for.
func TestRBACMatchesPreflight(t *testing.T) {
	for _, c := range []struct {
		profile    string
		disruptive bool
		secret     string
	}{{"core", false, ""}, {"certification", true, ""}, {"core", false, "regs/pull"}, {"pre-upgrade", false, ""}} {
		out, err := RBAC(c.profile, c.disruptive, c.secret, "serviceaccount:ci:kubeproof")
		if err != nil {
			t.Fatal(err)
		}
		rules := map[string][]rbacv1.PolicyRule{}
		bound := 0
		for _, doc := range strings.Split(string(out), "---\n")[1:] {
			var o struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name, Namespace string
				} `json:"metadata"`
				Rules    []rbacv1.PolicyRule `json:"rules"`
				Subjects []rbacv1.Subject    `json:"subjects"`
			}
			if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
				t.Fatalf("%s: %v\n%s", c.profile, err, doc)
			}
			switch o.Kind {
			case "ClusterRole", "Role":
				rules[o.Metadata.Namespace] = o.Rules
			case "ClusterRoleBinding", "RoleBinding":
				if len(o.Subjects) != 1 || o.Subjects[0].Name != "kubeproof" || o.Subjects[0].Namespace != "ci" {
					t.Errorf("%s %s: want bound to serviceaccount ci/kubeproof, got %+v", o.Kind, o.Metadata.Name, o.Subjects)
				}
				bound++
			}
		}
		if bound != len(rules) {
			t.Errorf("%s: %d roles, %d bindings", c.profile, len(rules), bound)
		}
		asked := 0
		for _, g := range grantsFor(c.profile, c.disruptive, c.secret) {
			for _, a := range g.permissions() {
				asked++
				ns := ""
				if a.ResourceAttributes != nil {
					ns = a.ResourceAttributes.Namespace
				}
				if !allows(rules[ns], a) {
					t.Errorf("%s: preflight asks to %s, no printed rule allows it", c.profile, describe(a))
				}
			}
		}
		printed := 0
		for _, rs := range rules {
			for _, r := range rs {
				printed += (len(r.Resources) + len(r.NonResourceURLs)) * len(r.Verbs)
			}
		}
		if printed != asked {
			t.Errorf("%s: %d verbs printed, %d asked for", c.profile, printed, asked)
		}
	}
}

func allows(rules []rbacv1.PolicyRule, p authv1.SelfSubjectAccessReviewSpec) bool {
	if n := p.NonResourceAttributes; n != nil {
		for _, r := range rules {
			if slices.Contains(r.NonResourceURLs, n.Path) && slices.Contains(r.Verbs, n.Verb) {
				return true
			}
		}
		return false
	}
	a := p.ResourceAttributes
	res := a.Resource
	if a.Subresource != "" {
		res += "/" + a.Subresource
	}
	for _, r := range rules {
		if slices.Contains(r.APIGroups, a.Group) && slices.Contains(r.Resources, res) && slices.Contains(r.Verbs, a.Verb) && (len(r.ResourceNames) == 0 || slices.Contains(r.ResourceNames, a.Name)) {
			return true
		}
	}
	return false
}

// Preflight names each verb the identity lacks, and nothing else.
func TestMissingPermissionsNamesWhatIsDenied(t *testing.T) {
	c := fake.NewClientset()
	c.PrependReactor("create", "selfsubjectaccessreviews", func(action k8stesting.Action) (bool, runtime.Object, error) {
		r := action.(k8stesting.CreateAction).GetObject().(*authv1.SelfSubjectAccessReview)
		a := r.Spec.ResourceAttributes
		r.Status.Allowed = !(a.Resource == "pods" && a.Verb == "patch") && !(a.Resource == "leases" && a.Verb == "update")
		return true, r, nil
	})
	missing, err := missingPermissions(context.Background(), c, grantsFor("core", false, ""))
	if err != nil {
		t.Fatal(err)
	}
	want := "patch pods, update leases.coordination.k8s.io kubeproof-run in kube-system"
	if got := strings.Join(missing, ", "); got != want {
		t.Errorf("want %q, got %q", want, got)
	}
}

func TestSubjectRefusesWhatItCannotBind(t *testing.T) {
	for _, s := range []Subject{"serviceaccount:ci", "sa:ci:x", "user:", "group"} {
		if _, err := RBAC("core", false, "", s); err == nil {
			t.Errorf("subject %q: want an error", s)
		}
	}
}

// The roles shipped in deploy/rbac are what `kubeproof rbac` prints.
func TestShippedRolesAreCurrent(t *testing.T) {
	for _, profile := range contract.Profiles {
		path := filepath.Join("..", "deploy", "rbac", profile+".yaml")
		shipped, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		printed, err := RBAC(profile, contract.SelectsDisruptive(profile, true), "", "")
		if err != nil {
			t.Fatal(err)
		}
		if string(shipped) != string(printed) {
			t.Errorf("%s is not what `kubeproof rbac --profile %s` prints: regenerate it with go run ./cmd/kubeproof rbac --profile %s > %s", path, profile, profile, path)
		}
	}
}
