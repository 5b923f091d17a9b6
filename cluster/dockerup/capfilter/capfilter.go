// Package capfilter removes from OCI runtime specs the Linux capabilities
// that the current process's bounding set does not hold, so that runc can
// start privileged containers inside sandboxes that dropped some of them.
package capfilter

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// capNumbers maps capability names, as written in OCI specs, to their bit.
var capNumbers = map[string]uint{
	"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3,
	"CAP_FSETID": 4, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8,
	"CAP_LINUX_IMMUTABLE": 9, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11,
	"CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13, "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15,
	"CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18, "CAP_SYS_PTRACE": 19,
	"CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23,
	"CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27,
	"CAP_LEASE": 28, "CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31,
	"CAP_MAC_OVERRIDE": 32, "CAP_MAC_ADMIN": 33, "CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35,
	"CAP_BLOCK_SUSPEND": 36, "CAP_AUDIT_READ": 37, "CAP_PERFMON": 38, "CAP_BPF": 39,
	"CAP_CHECKPOINT_RESTORE": 40,
}

// Set is a capability bit mask.
type Set uint64

// Has reports whether the named capability is in the set. Unknown names are
// kept (reported as held): runc knows better than we do about them.
func (s Set) Has(name string) bool {
	bit, ok := capNumbers[strings.ToUpper(name)]
	return !ok || s&(1<<bit) != 0
}

// CurrentBoundingSet reads CapBnd of this process from /proc/self/status.
func CurrentBoundingSet() (Set, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read capability bounding set: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapBnd:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return 0, fmt.Errorf("parse CapBnd %q: %w", v, err)
			}
			return Set(n), nil
		}
	}
	return 0, fmt.Errorf("no CapBnd line in /proc/self/status")
}

// Missing lists the known capabilities that the set lacks.
func (s Set) Missing() []string {
	var out []string
	for name := range capNumbers {
		if !s.Has(name) {
			out = append(out, name)
		}
	}
	return out
}

// FilterFile rewrites an OCI bundle config.json (isProcess false) or an exec
// process file (isProcess true) in place, dropping capabilities not in
// bounding. The file is left untouched when nothing needs to change.
func FilterFile(path string, isProcess bool, bounding Set) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	process := doc
	if !isProcess {
		raw, ok := doc["process"]
		if !ok {
			return nil
		}
		if err := json.Unmarshal(raw, &process); err != nil {
			return fmt.Errorf("parse process of %s: %w", path, err)
		}
	}
	raw, ok := process["capabilities"]
	if !ok {
		return nil
	}
	var caps map[string][]string
	if err := json.Unmarshal(raw, &caps); err != nil {
		return fmt.Errorf("parse capabilities of %s: %w", path, err)
	}
	changed := false
	for kind, names := range caps {
		kept := names[:0:0]
		for _, n := range names {
			if bounding.Has(n) {
				kept = append(kept, n)
			} else {
				changed = true
			}
		}
		caps[kind] = kept
	}
	if !changed {
		return nil
	}
	if process["capabilities"], err = json.Marshal(caps); err != nil {
		return err
	}
	if !isProcess {
		if doc["process"], err = json.Marshal(process); err != nil {
			return err
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, out, st.Mode().Perm()); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
