// Command kubeproof-pause is the pod sandbox process of kubeproof's node
// image (the role of Kubernetes' pause image): it holds the pod's
// namespaces, reaps orphaned children and exits on SIGINT or SIGTERM.
// With -v it prints its version and exits, as that image's pause does:
// kubeadm's upgrade health check runs a Job of the pause image with -v
// and waits for it to complete.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-v" {
		fmt.Println("kubeproof-pause: the pause process of kubeproof's node image")
		return
	}
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range signals {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		// Reap every exited child: as PID 1 of the pod, orphans land here.
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
