// Command kubeproof-sh is /bin/sh in the busybox image kubeproof builds
// for the conformance suite. It hands every script to busybox's ash (so
// ash's own messages, which specs match, are unchanged), except a script
// that is one plain command, such as `sh -c env`: that one it runs itself,
// with the whole environment. Debian's busybox ash drops environment
// variables whose names are not shell names (data-1, which Kubernetes
// allows) before running anything; upstream's busybox keeps them, and the
// suite's specs rely on it.
package main

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"syscall"
)

// plain is a command of words with no shell syntax: nothing to expand,
// quote, redirect, chain or assign.
var plain = regexp.MustCompile(`^[A-Za-z0-9_./-]+( +[A-Za-z0-9_./-]+)*$`)

// builtins behave differently in a shell than as programs.
var builtins = []string{".", ":", "alias", "break", "cd", "command", "continue", "eval", "exec", "exit", "export", "getopts", "hash", "local", "read", "readonly", "return", "set", "shift", "source", "times", "trap", "type", "ulimit", "umask", "unalias", "unset", "wait"}

const ash = "/bin/busybox"

// direct returns the command to run without a shell for `-c SCRIPT` when
// SCRIPT is one plain command that is not a builtin, nil otherwise.
func direct(args []string) []string {
	if len(args) != 2 || args[0] != "-c" || !plain.MatchString(strings.TrimSpace(args[1])) {
		return nil
	}
	words := strings.Fields(args[1])
	if slices.Contains(builtins, words[0]) {
		return nil
	}
	return words
}

func main() {
	if words := direct(os.Args[1:]); words != nil {
		if path, err := exec.LookPath(words[0]); err == nil {
			_ = syscall.Exec(path, words, os.Environ())
		}
	}
	// busybox picks ash by the name it is called by, and ash names
	// itself by it in its messages ("/bin/sh: can't create ...").
	err := syscall.Exec(ash, os.Args, os.Environ())
	os.Stderr.WriteString("sh: exec " + ash + ": " + err.Error() + "\n")
	os.Exit(127)
}
