package conformance

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// epoch is every file's time in a layer: the same inputs give the same
// layer.
var epoch = time.Unix(0, 0)

// busyboxApplets links every applet of root's /bin/busybox into /bin,
// except those named and those another package put there.
func busyboxApplets(root string, except ...string) error {
	out, err := exec.Command(filepath.Join(root, "bin", "busybox"), "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" || slices.Contains(except, applet) {
			continue
		}
		if _, err := os.Lstat(filepath.Join(root, "bin", applet)); err == nil {
			continue
		}
		if _, err := os.Lstat(filepath.Join(root, "usr", "bin", applet)); err == nil {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil {
			return err
		}
	}
	return nil
}

// relink makes rel (inside root) a symbolic link to target.
func relink(root, target, rel string) error {
	p := filepath.Join(root, rel)
	if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
		return err
	}
	return os.Symlink(target, p)
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// baseFiles gives root what programs expect of a Linux system: users
// root and nobody, name lookups in /etc/hosts then DNS, a writable /tmp;
// and the empty directories named.
func baseFiles(root string, dirs ...string) error {
	files := map[string]string{
		"etc/passwd":        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		"etc/group":         "root:x:0:\nnogroup:x:65534:\n",
		"etc/nsswitch.conf": "passwd: files\ngroup: files\nhosts: files dns\n",
	}
	for _, d := range append([]string{"etc", "root", "tmp"}, dirs...) {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), 0o1777); err != nil {
		return err
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		if old, err := os.ReadFile(p); err == nil && bytes.Contains(old, []byte("root:")) {
			continue // a package's own
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}
