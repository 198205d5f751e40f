// Package system holds small, dependency-free wrappers around Linux
// interfaces the runtime uses in many places: EINTR-retrying syscalls,
// process identity (start time, pidfd) and fd hygiene.
package system

import (
	"errors"

	"golang.org/x/sys/unix"
)

// Retry calls fn until it returns anything but EINTR.
func Retry(fn func() error) error {
	for {
		err := fn()
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// Mount is mount(2) retried on EINTR.
func Mount(source, target, fstype string, flags uintptr, data string) error {
	return Retry(func() error { return unix.Mount(source, target, fstype, flags, data) })
}

// Unmount is umount2(2) retried on EINTR.
func Unmount(target string, flags int) error {
	return Retry(func() error { return unix.Unmount(target, flags) })
}
