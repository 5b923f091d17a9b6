// Package storage checks persistent storage through the cluster's default
// StorageClass: that there is one, that a claim binds as its
// volumeBindingMode says, and that a deleted claim's volume is reclaimed as
// its reclaimPolicy says. Where the cluster has no default class, each
// check is not checked, saying so.
package storage
