// Command kubeproof-runc stands in front of runc on hosts whose capability
// bounding set lacks capabilities that privileged containers ask for (for
// example CAP_SYS_RESOURCE in some sandboxes). runc refuses to create such a
// container ("unable to apply caps: operation not permitted"), so before
// handing over to the real runc this wrapper removes, from the OCI bundle's
// config.json (--bundle) and from an exec process file (--process), every
// capability the kernel would never grant here. On a host with a full
// bounding set it changes nothing.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/kubeproof/kubeproof/cluster/dockerup/capfilter"
)

func main() {
	bounding, err := capfilter.CurrentBoundingSet()
	if err != nil {
		fail(err)
	}
	for _, f := range specFiles(os.Args[1:]) {
		if err := capfilter.FilterFile(f.path, f.isProcess, bounding); err != nil {
			fail(err)
		}
	}
	real, err := realRunc()
	if err != nil {
		fail(err)
	}
	args := append([]string{real}, os.Args[1:]...)
	fail(syscall.Exec(real, args, os.Environ()))
}

type specFile struct {
	path      string
	isProcess bool
}

// specFiles finds the OCI files named on a runc command line. runc accepts
// both "--flag value" and "--flag=value" and the short forms -b and -p.
func specFiles(args []string) []specFile {
	var out []specFile
	for i := 0; i < len(args); i++ {
		a := args[i]
		value := func(prefix string) (string, bool) {
			if a == prefix && i+1 < len(args) {
				i++
				return args[i], true
			}
			if len(a) > len(prefix)+1 && a[:len(prefix)+1] == prefix+"=" {
				return a[len(prefix)+1:], true
			}
			return "", false
		}
		if v, ok := value("--bundle"); ok {
			out = append(out, specFile{path: filepath.Join(v, "config.json")})
		} else if v, ok := value("-b"); ok {
			out = append(out, specFile{path: filepath.Join(v, "config.json")})
		} else if v, ok := value("--process"); ok {
			out = append(out, specFile{path: v, isProcess: true})
		} else if v, ok := value("-p"); ok {
			out = append(out, specFile{path: v, isProcess: true})
		}
	}
	return out
}

// realRunc finds the runc binary this wrapper stands in for.
func realRunc() (string, error) {
	if p := os.Getenv("KUBEPROOF_REAL_RUNC"); p != "" {
		return p, nil
	}
	self, _ := os.Executable()
	for _, p := range []string{"/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc"} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && p != self {
			return p, nil
		}
	}
	return "", fmt.Errorf("real runc not found in /usr/sbin, /usr/bin or /usr/local/sbin (set KUBEPROOF_REAL_RUNC)")
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "kubeproof-runc: %v\n", err)
	os.Exit(1)
}
