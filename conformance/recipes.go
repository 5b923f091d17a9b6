package conformance

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kubeproof/kubeproof/internal/gobuild"
	"github.com/kubeproof/kubeproof/internal/paths"
)

// A recipe builds an image's root filesystem and says how it runs. Each
// gives the behaviour the specs rely on, read from the image's Dockerfile
// in k8s.io/kubernetes/test/images and from the specs that run it.
type recipe struct {
	source string
	files  func(*step) error
	config v1.Config
	// configFor, when set, replaces config (it depends on the tag).
	configFor func(*step) v1.Config
}

// step is one image build: the suite, kubeproof's cache, the root being
// filled and the tag of the reference being built.
type step struct {
	ctx              context.Context
	suite            *Suite
	cache, root, tag string
}

// debian extracts packages and their dependencies into the root.
func (st *step) debian(pkgs ...string) error {
	return debianRoot(st.ctx, filepath.Join(st.cache, "debs"), st.root, pkgs...)
}

// goBinary builds the main package pkg of module at version (cached in
// <cache>/<name>-<version>/bin) and copies it into the root at dest.
func (st *step) goBinary(module, version, pkg, dest string, mode os.FileMode) error {
	name := filepath.Base(module)
	if strings.HasPrefix(name, "v") && len(name) <= 3 { // go.etcd.io/etcd/server/v3
		name = filepath.Base(filepath.Dir(filepath.Dir(module)))
	}
	m := gobuild.Module{Dir: filepath.Join(st.cache, name+"-"+version), Requires: []string{module + " " + version}, Mains: []string{pkg}}
	bin, out := filepath.Join(m.Dir, "bin"), name
	if !gobuild.AllExist(bin, out) {
		if err := m.Write(st.ctx); err != nil {
			return err
		}
		if err := m.Build(st.ctx, bin, "", map[string]string{pkg: out}); err != nil {
			return err
		}
	}
	return st.copy(filepath.Join(bin, out), dest, mode)
}

// ownBinary builds kubeproof's cmd/<name> from its source tree and puts
// it into the root at dest.
func (st *step) ownBinary(name, dest string) error {
	src, err := paths.SourceDir()
	if err != nil {
		return fmt.Errorf("%s is built from kubeproof's source: %w", name, err)
	}
	out := filepath.Join(st.cache, "e2e-own-bin", name)
	if err := gobuild.Run(st.ctx, src, []string{"CGO_ENABLED=0"}, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, "./cmd/"+name); err != nil {
		return err
	}
	return st.copy(out, dest, 0o755)
}

// copy puts a file into the root at dest.
func (st *step) copy(src, dest string, mode os.FileMode) error {
	p := filepath.Join(st.root, dest)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := copyFile(src, p, mode); err != nil {
		return err
	}
	return os.Chmod(p, mode) // setuid survives no umask
}

// coreDNSVersion is the CoreDNS agnhost and jessie-dnsutils carry as
// /coredns (some DNS specs run it as a server); the node image of v1.34
// builds the same version, so it is usually cached.
const coreDNSVersion = "v1.12.1"

// busyboxPackages: busybox's applets. In the busybox image its sh must be
// busybox's ash: a spec matches ash's exact read-only-filesystem message.
var busyboxPackages = []string{"busybox-static"}

// agnhostPackages are what agnhost's Dockerfile installs (bind-tools,
// curl, netcat-openbsd, iproute2, iperf, bash) and what its specs call by
// name in `sh -c` pipelines: getent, and a sh that runs programs from
// PATH (Debian's busybox sh runs its own nc applet, without -u and -v,
// whatever PATH says: dash is the sh); busybox gives the rest.
var agnhostPackages = []string{"dash", "bash", "curl", "netcat-openbsd", "bind9-dnsutils", "libc-bin", "iproute2", "iperf", "busybox-static"}

// dnsutilsPackages: jessie-dnsutils is Debian with dnsutils; the DNS
// specs' probe scripts also use seq, test, sleep and getent.
var dnsutilsPackages = []string{"dash", "bind9-dnsutils", "libc-bin", "busybox-static"}

// webPage is what the web server images serve at /.
const webPage = "<html><body><h1>It works!</h1></body></html>\n"

var recipes = map[string]recipe{
	"agnhost": {
		source: "Go: agnhost and CoreDNS " + coreDNSVersion + "; Debian: " + strings.Join(agnhostPackages, " ") + " and their dependencies",
		files:  agnhostFiles,
		config: v1.Config{Entrypoint: []string{"/agnhost"}, Cmd: []string{"pause"}},
	},
	"nautilus": {
		source: "the agnhost image with test/images/nautilus/html, serving it (test-webserver)",
		files: func(st *step) error {
			if err := agnhostFiles(st); err != nil {
				return err
			}
			for _, f := range []string{"nautilus.jpg", "data.json"} {
				if err := st.copy(filepath.Join(st.suite.Source, "test", "images", "nautilus", "html", f), f, 0o644); err != nil {
					return err
				}
			}
			return nil
		},
		config: v1.Config{Entrypoint: []string{"/agnhost"}, Cmd: []string{"test-webserver"}},
	},
	"busybox": {
		source: "Debian: busybox-static; kubeproof-sh as /bin/sh (ash for scripts, a plain command run with the whole environment)",
		files: func(st *step) error {
			if err := st.debian(busyboxPackages...); err != nil {
				return err
			}
			if err := busyboxApplets(st.root, "sh"); err != nil {
				return err
			}
			if err := st.ownBinary("kubeproof-sh", "bin/sh"); err != nil {
				return err
			}
			return baseFiles(st.root)
		},
		config: v1.Config{Cmd: []string{"sh"}},
	},
	// httpd and nginx: the specs need a web server on port 80 that stays
	// up; busybox's httpd is one.
	"httpd": webServer("/usr/local/apache2/htdocs"),
	"nginx": webServer("/usr/share/nginx/html"),
	"jessie-dnsutils": {
		source: "Debian: " + strings.Join(dnsutilsPackages, " ") + " and their dependencies; Go: CoreDNS " + coreDNSVersion,
		files: func(st *step) error {
			if err := st.debian(dnsutilsPackages...); err != nil {
				return err
			}
			if err := shellFromPath(st.root); err != nil {
				return err
			}
			if err := st.goBinary("github.com/coredns/coredns", coreDNSVersion, "github.com/coredns/coredns", "coredns", 0o755); err != nil {
				return err
			}
			return baseFiles(st.root)
		},
		config: v1.Config{Cmd: []string{"/bin/sh"}},
	},
	"nonewprivs": {
		source: "Go: test/images/nonewprivs (nnp, setuid root) on busybox-static",
		files: func(st *step) error {
			if err := st.debian(busyboxPackages...); err != nil {
				return err
			}
			if err := busyboxApplets(st.root); err != nil {
				return err
			}
			if err := st.copy(st.suite.Nnp, "usr/local/bin/nnp", 0o4755); err != nil {
				return err
			}
			return baseFiles(st.root)
		},
		config: v1.Config{Cmd: []string{"nnp"}},
	},
	"sample-apiserver": {
		source: "Go: k8s.io/sample-apiserver at the tag's version (1.29.2 -> v0.29.2)",
		files: func(st *step) error {
			return st.goBinary("k8s.io/sample-apiserver", "v0."+strings.TrimPrefix(st.tag, "1."), "k8s.io/sample-apiserver", "sample-apiserver", 0o755)
		},
		config: v1.Config{Entrypoint: []string{"/sample-apiserver"}},
	},
	"etcd": {
		source: "Go: go.etcd.io/etcd/server/v3 at the tag's version (3.6.4-0 -> v3.6.4) as /usr/local/bin/etcd",
		files: func(st *step) error {
			version := "v" + strings.SplitN(st.tag, "-", 2)[0]
			if err := st.goBinary("go.etcd.io/etcd/server/v3", version, "go.etcd.io/etcd/server/v3", "usr/local/bin/etcd", 0o755); err != nil {
				return err
			}
			return baseFiles(st.root)
		},
		config: v1.Config{Cmd: []string{"/usr/local/bin/etcd"}},
	},
}

// agnhostFiles: agnhost's Dockerfile, from Debian packages instead of
// Alpine's: the tools, /coredns, /uploads, porter's certificate and key,
// agnhost and its second name agnhost-2 (entrypoint-override specs), and
// the user and group a supplemental-groups spec expects in the image.
func agnhostFiles(st *step) error {
	if err := st.debian(agnhostPackages...); err != nil {
		return err
	}
	if err := shellFromPath(st.root); err != nil {
		return err
	}
	if err := relink(st.root, "/bin/nc.openbsd", "bin/nc"); err != nil {
		return err
	}
	if err := st.copy(st.suite.Agnhost, "agnhost", 0o755); err != nil {
		return err
	}
	if err := relink(st.root, "agnhost", "agnhost-2"); err != nil {
		return err
	}
	porter := filepath.Join(st.suite.Source, "test", "images", "agnhost", "porter")
	for _, f := range []string{"localhost.crt", "localhost.key"} {
		if err := st.copy(filepath.Join(porter, f), f, 0o644); err != nil {
			return err
		}
	}
	if err := st.goBinary("github.com/coredns/coredns", coreDNSVersion, "github.com/coredns/coredns", "coredns", 0o755); err != nil {
		return err
	}
	if err := baseFiles(st.root, "uploads"); err != nil {
		return err
	}
	return addUsers(st.root, "user-defined-in-image:x:1000:1000::/home/user-defined-in-image:/bin/sh", "group-defined-in-image:x:50000:user-defined-in-image", "user-defined-in-image:x:1000:")
}

// shellFromPath links busybox's applets except sh and nc and makes dash
// the sh, so that `sh -c` pipelines run the programs on PATH.
func shellFromPath(root string) error {
	if err := busyboxApplets(root, "sh", "nc"); err != nil {
		return err
	}
	return relink(root, "/bin/dash", "bin/sh")
}

func webServer(docroot string) recipe {
	return recipe{
		source: "Debian: busybox-static (its httpd serving " + docroot + " on port 80)",
		files: func(st *step) error {
			if err := st.debian(busyboxPackages...); err != nil {
				return err
			}
			if err := busyboxApplets(st.root); err != nil {
				return err
			}
			if err := baseFiles(st.root); err != nil {
				return err
			}
			dir := filepath.Join(st.root, docroot)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, "index.html"), []byte(webPage), 0o644)
		},
		config: v1.Config{Cmd: []string{"/bin/httpd", "-f", "-p", "80", "-h", docroot}},
	}
}

// addUsers appends passwd lines (name:x:uid:gid:...) and group lines
// (name:x:gid:members) to the root's files, each to the file its field
// count says.
func addUsers(root string, lines ...string) error {
	for _, l := range lines {
		file := "etc/group"
		if strings.Count(l, ":") == 6 {
			file = "etc/passwd"
		}
		f, err := os.OpenFile(filepath.Join(root, file), os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(f, l)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}
