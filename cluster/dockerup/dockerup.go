// Package dockerup makes sure a Docker engine answers on this machine, and
// that it can run kind's privileged node containers. Only `kubeproof docker
// up` (Ensure) changes the host: on a Debian machine run as root it
// installs and starts Debian's docker.io when none is there, saying what it
// will change before it does; anywhere else it only checks and says what to
// install. Every other command only checks (Check).
package dockerup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kubeproof/kubeproof/cluster/dockerup/capfilter"
	"github.com/kubeproof/kubeproof/internal/atomicfile"
	"github.com/kubeproof/kubeproof/internal/hostpkg"
)

// RuntimeName is the name under which the runc wrapper is registered in
// /etc/docker/daemon.json.
const RuntimeName = "kubeproof-runc"

// ErrNoDocker means no engine answers and kubeproof may not install one.
var ErrNoDocker = errors.New("no Docker engine")

// Options say where things go; zero values pick the defaults.
type Options struct {
	// LogPath receives dockerd's output when kubeproof starts it.
	LogPath string
	// WrapperSource is the kubeproof-runc binary to install when the
	// capability bounding set needs it. Default: next to this executable.
	WrapperSource string
	// Log receives one line per step taken.
	Log io.Writer
}

const (
	defaultLogPath    = "/var/log/kubeproof-dockerd.log"
	wrapperInstallDir = "/usr/local/libexec/kubeproof"
	daemonJSONPath    = "/etc/docker/daemon.json"
	startTimeout      = 90 * time.Second
)

// Check returns nil when a Docker engine answers, and otherwise an
// ErrNoDocker that says how to start one; it changes nothing.
func Check(ctx context.Context) error {
	if _, err := engineVersion(ctx); err != nil {
		return fmt.Errorf("%w answers (docker version: %v): start one with `kubeproof docker up` (as root on Debian it installs docker.io and registers kubeproof's runc wrapper, saying so first), or start yours", ErrNoDocker, oneLine(err))
	}
	return nil
}

// Ensure returns once a Docker engine answers. It is idempotent: with an
// engine already running it changes nothing. Before changing the host it
// prints the plan.
func Ensure(ctx context.Context, o Options) error {
	if o.LogPath == "" {
		o.LogPath = defaultLogPath
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if version, err := engineVersion(ctx); err == nil {
		fmt.Fprintf(o.Log, "docker engine %s answers\n", version)
		return warnIfCannotRunPrivileged(ctx, o.Log)
	}
	_, lookErr := exec.LookPath("dockerd")
	install := lookErr != nil
	if install && !hostpkg.CanInstall() {
		return fmt.Errorf("%w: install Docker (https://docs.docker.com/engine/install/) and start it, or run as root on Debian so kubeproof can install docker.io", ErrNoDocker)
	}
	bounding, err := capfilter.CurrentBoundingSet()
	if err != nil {
		return err
	}
	missing := bounding.Missing()
	if len(missing) > 0 {
		if err := checkDefaultRuntime(daemonJSONPath); err != nil {
			return err
		}
	}
	start := !dockerdRunning()
	// The plan, before anything changes.
	fmt.Fprintln(o.Log, "no Docker engine answers; kubeproof docker up will:")
	if install {
		fmt.Fprintln(o.Log, "  - install Debian's docker.io (apt-get)")
	}
	if len(missing) > 0 {
		fmt.Fprintf(o.Log, "  - install %s and register it in %s as dockerd's default runtime (this machine's capability bounding set lacks %s, which privileged kind nodes need)\n",
			filepath.Join(wrapperInstallDir, RuntimeName), daemonJSONPath, strings.Join(missing, ","))
	}
	if start {
		fmt.Fprintf(o.Log, "  - start dockerd in the background, log in %s\n", o.LogPath)
	}
	if install {
		if err := hostpkg.Install(ctx, "docker.io"); err != nil {
			return err
		}
	}
	if len(missing) > 0 {
		if err := installWrapper(o); err != nil {
			return err
		}
	}
	if start {
		if err := startDockerd(o); err != nil {
			return err
		}
	}
	return waitForEngine(ctx, o)
}

// checkDefaultRuntime refuses to replace a default runtime someone else
// set in daemon.json: kubeproof registers its wrapper only beside runc.
func checkDefaultRuntime(path string) error {
	cfg, err := readDaemonJSON(path)
	if err != nil {
		return err
	}
	if def, _ := cfg["default-runtime"].(string); def != "" && def != RuntimeName && def != "runc" {
		return fmt.Errorf("%s sets default-runtime %q: kubeproof will not replace it with its %s wrapper (kind's privileged nodes need it on this machine); remove that setting or add the wrapper yourself", path, def, RuntimeName)
	}
	return nil
}

func readDaemonJSON(path string) (map[string]any, error) {
	cfg := map[string]any{}
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("parse %s: %w (fix or remove it)", path, err)
	}
	return cfg, nil
}

func engineVersion(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").Output()
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// warnIfCannotRunPrivileged tells the user when an engine they run
// themselves will fail to start kind nodes here; kubeproof does not
// reconfigure an engine it did not set up.
func warnIfCannotRunPrivileged(ctx context.Context, log io.Writer) error {
	bounding, err := capfilter.CurrentBoundingSet()
	if err != nil || len(bounding.Missing()) == 0 {
		return nil
	}
	out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.DefaultRuntime}}").Output()
	if err == nil && strings.TrimSpace(string(out)) != RuntimeName {
		fmt.Fprintf(log, "warning: this machine lacks %s, so privileged containers (kind nodes) may fail to start with runtime %q; stop dockerd and run `kubeproof docker up` to register the %s wrapper\n",
			strings.Join(bounding.Missing(), ","), strings.TrimSpace(string(out)), RuntimeName)
	}
	return nil
}

// installWrapper copies kubeproof-runc into place and makes it dockerd's
// default runtime, keeping whatever else daemon.json already says.
func installWrapper(o Options) error {
	src := o.WrapperSource
	if src == "" {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		src = filepath.Join(filepath.Dir(self), RuntimeName)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("runtime wrapper %s not found (build it with `make build`): %w", src, err)
	}
	if err := os.MkdirAll(wrapperInstallDir, 0o755); err != nil {
		return err
	}
	dst := filepath.Join(wrapperInstallDir, RuntimeName)
	if err := atomicfile.Write(dst, data, 0o755); err != nil {
		return err
	}
	cfg, err := readDaemonJSON(daemonJSONPath)
	if err != nil {
		return err
	}
	runtimes, _ := cfg["runtimes"].(map[string]any)
	if runtimes == nil {
		runtimes = map[string]any{}
	}
	runtimes[RuntimeName] = map[string]any{"path": dst}
	cfg["runtimes"] = runtimes
	cfg["default-runtime"] = RuntimeName
	out, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(daemonJSONPath), 0o755); err != nil {
		return err
	}
	if err := atomicfile.Write(daemonJSONPath, append(out, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(o.Log, "wrote %s (default runtime %s)\n", daemonJSONPath, dst)
	return nil
}

// dockerdRunning is true when a live dockerd holds the pid file, for
// example one still starting up. A stale file (dockerd was killed, its pid
// maybe reused) does not count.
func dockerdRunning() bool {
	raw, err := os.ReadFile("/var/run/docker.pid")
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || pid <= 0 {
		return false
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return err == nil && strings.TrimSpace(string(comm)) == "dockerd"
}

func startDockerd(o Options) error {
	logFile, err := os.OpenFile(o.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open dockerd log %s: %w", o.LogPath, err)
	}
	defer logFile.Close()
	cmd := exec.Command("dockerd")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// A session of its own, so dockerd outlives this command.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start dockerd: %w", err)
	}
	fmt.Fprintf(o.Log, "started dockerd (pid %d), log in %s\n", cmd.Process.Pid, o.LogPath)
	return cmd.Process.Release()
}

func waitForEngine(ctx context.Context, o Options) error {
	deadline := time.Now().Add(startTimeout)
	for {
		version, err := engineVersion(ctx)
		if err == nil {
			fmt.Fprintf(o.Log, "docker engine %s answers\n", version)
			return nil
		}
		if time.Now().After(deadline) {
			tail, _ := os.ReadFile(o.LogPath)
			return fmt.Errorf("docker engine did not answer within %s; last line of %s: %s", startTimeout, o.LogPath, lastLine(tail))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}
