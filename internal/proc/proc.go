// Package proc tells whether a process that owns something (a fault, a
// namespace, a kind cluster) is still alive on this machine: what a live
// run owns is left to it by `chaos revert` and `cleanup`.
package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Alive reports whether pid is a running process here (EPERM: it is,
// someone else's). A zombie is not: a process killed with SIGKILL stays
// one until its parent (or init, which may be slow) reaps it.
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	// "pid (comm) S ...": the state follows the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return true
	}
	state := stat[i+2]
	return state != 'Z' && state != 'X'
}

// Host is this machine's name, "" if unknown.
func Host() string {
	h, _ := os.Hostname()
	return h
}

// Owner names a process on this machine: "host/pid".
func Owner(pid int) string { return fmt.Sprintf("%s/%d", Host(), pid) }

// LiveOwner reports whether owner ("host/pid") is a live process on this
// machine other than this one. An owner on another machine cannot be
// checked from here and counts as live: only the user can say otherwise.
func LiveOwner(owner string) bool {
	host, pidText, ok := strings.Cut(owner, "/")
	if !ok {
		return false
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid == os.Getpid() {
		return false
	}
	if host != Host() {
		return true
	}
	return Alive(pid)
}

// Group lists the live processes of process group pgid on this machine
// whose command line contains mark: a group recorded earlier is checked
// against what it ran, so a reused number is never taken for it.
func Group(pgid int, mark string) []int {
	if pgid <= 0 || mark == "" {
		return nil
	}
	dirs, _ := os.ReadDir("/proc")
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// "pid (comm) S ppid pgrp ...": the fields after the last ')'.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 3 || f[0] == "Z" || f[2] != strconv.Itoa(pgid) {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err == nil && bytes.Contains(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}), []byte(mark)) {
			pids = append(pids, pid)
		}
	}
	return pids
}
