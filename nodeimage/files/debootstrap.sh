#!/bin/sh
# Builds the Debian part of the kind node rootfs into $1 from mirror $2.
# The package list is the input of the rootfs cache key: change it here.
set -eu
target=$1
mirror=${2:-http://deb.debian.org/debian}
packages=systemd,systemd-sysv,dbus,containerd,runc,containernetworking-plugins,iptables,nftables,conntrack,iproute2,ethtool,kmod,mount,util-linux,procps,bash,ca-certificates,libseccomp2,socat,tar,gzip,findutils
debootstrap --variant=minbase --include="$packages" bookworm "$target" "$mirror"
# Trim what a node never reads.
rm -rf "$target"/var/cache/apt/archives/*.deb "$target"/var/lib/apt/lists/* \
	"$target"/usr/share/doc "$target"/usr/share/man "$target"/usr/share/locale \
	"$target"/usr/share/info
