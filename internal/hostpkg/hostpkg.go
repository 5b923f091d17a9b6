// Package hostpkg installs the Debian packages kubeproof needs on the
// machine it runs on (Docker, debootstrap, containerd), when it may: as
// root on Debian. Elsewhere it says what to install.
package hostpkg

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// Need maps a command to the Debian package that provides it.
type Need struct {
	Command, Package string
}

// CanInstall reports whether this process may install Debian packages.
func CanInstall() bool {
	if os.Geteuid() != 0 {
		return false
	}
	_, err := os.Stat("/etc/debian_version")
	return err == nil
}

// Ensure installs the packages of the commands not found on PATH.
func Ensure(ctx context.Context, log io.Writer, needs ...Need) error {
	var missing []string
	for _, n := range needs {
		if _, err := exec.LookPath(n.Command); err != nil {
			missing = append(missing, n.Package)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if !CanInstall() {
		return fmt.Errorf("missing %s: install them (Debian: apt-get install %s)", strings.Join(missing, ", "), strings.Join(missing, " "))
	}
	fmt.Fprintf(log, "installing %s\n", strings.Join(missing, " "))
	return Install(ctx, missing...)
}

// Install runs apt-get install, refreshing the package lists once if the
// first attempt fails (a fresh machine may have none).
func Install(ctx context.Context, pkgs ...string) error {
	install := func() ([]byte, error) {
		cmd := exec.CommandContext(ctx, "apt-get", append([]string{"install", "-y", "-q", "--no-install-recommends"}, pkgs...)...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return cmd.CombinedOutput()
	}
	if _, err := install(); err == nil {
		return nil
	}
	if out, err := exec.CommandContext(ctx, "apt-get", "update", "-q").CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get update: %w: %s", err, lastLine(out))
	}
	if out, err := install(); err != nil {
		return fmt.Errorf("apt-get install %s: %w: %s", strings.Join(pkgs, " "), err, lastLine(out))
	}
	return nil
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}
