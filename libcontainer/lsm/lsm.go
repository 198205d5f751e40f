// Package lsm applies a process's AppArmor profile and SELinux labels.
//
// Every write goes to /proc/thread-self/attr/... through a procfs handle
// that pathrs-lite verified: a private procfs instance (or a clone of /proc
// without its overmounts), checked to be procfs with no mount or symlink on
// the way to the file. A container that mounted something over
// /proc/self/attr therefore cannot swallow the write and leave its process
// unconfined (CVE-2019-16884, CVE-2025-52881). go-selinux (>= v1.13) goes
// through the same handle for its writes.
//
// Callers decide with AppArmorEnabled and SELinuxEnabled, on the host,
// whether there is anything to apply: on a host where the LSM is off a
// profile or label is dropped (a no-op), not an error.
package lsm

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	"github.com/opencontainers/selinux/go-selinux"
	"github.com/opencontainers/selinux/go-selinux/label"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/system"
)

// AppArmorEnabled tells whether the host's kernel enforces AppArmor. Call it
// in the host's mount namespace (the container's /sys may be anything).
var AppArmorEnabled = sync.OnceValue(func() bool {
	if _, err := os.Stat("/sys/kernel/security/apparmor"); err != nil {
		return false
	}
	b, err := system.ReadFile("/sys/module/apparmor/parameters/enabled")
	return err == nil && strings.HasPrefix(string(b), "Y")
})

// SELinuxEnabled tells whether SELinux is on with a policy loaded (a
// selinuxfs is mounted and our context is not the no-policy "kernel").
func SELinuxEnabled() bool { return selinux.GetEnabled() }

// SetAppArmorExec makes the calling thread's next execve enter profile.
// The thread must stay locked until it execs: the attribute is per thread.
func SetAppArmorExec(profile string) error {
	if profile == "" {
		return nil
	}
	// attr/apparmor/exec since Linux 5.8 (LSM stacking); attr/exec before.
	err := writeThreadSelf("attr/apparmor/exec", "exec "+profile)
	if errors.Is(err, os.ErrNotExist) {
		err = writeThreadSelf("attr/exec", "exec "+profile)
	}
	if err != nil {
		return fmt.Errorf("apparmor profile %q: %w", profile, err)
	}
	return nil
}

// SetSELinuxExec makes the calling thread's next execve run as label.
func SetSELinuxExec(l string) error {
	if l == "" {
		return nil
	}
	if err := selinux.SetExecLabel(l); err != nil {
		return fmt.Errorf("selinux process label %q: %w", l, err)
	}
	return nil
}

// SetSELinuxKeyring labels the keyrings this process creates next (its
// session keyring), as runc does with the process label.
func SetSELinuxKeyring(l string) error {
	if l == "" {
		return nil
	}
	if err := selinux.SetKeyLabel(l); err != nil {
		return fmt.Errorf("selinux keyring label %q: %w", l, err)
	}
	return nil
}

// MountData adds the SELinux context= option for mountLabel to a
// filesystem's mount data, for the filesystems that take it.
func MountData(fstype, data, mountLabel string) string {
	if mountLabel == "" || !TakesContext(fstype) {
		return data
	}
	return label.FormatMountLabel(data, mountLabel)
}

// TakesContext tells whether a new mount of fstype gets the mount label as
// a context= option. proc, sysfs and cgroup keep their own labels (as with
// runc); mqueue refuses the option and is relabelled after mounting.
func TakesContext(fstype string) bool {
	switch fstype {
	case "proc", "sysfs", "cgroup", "cgroup2", "mqueue", "bind", "":
		return false
	}
	return true
}

// SetFileLabel labels the file an fd refers to (an O_PATH fd works).
func SetFileLabel(f *os.File, l string) error {
	if l == "" {
		return nil
	}
	p := fmt.Sprintf("/proc/self/fd/%d", f.Fd())
	if err := unix.Setxattr(p, "security.selinux", []byte(l), 0); err != nil {
		return fmt.Errorf("set selinux label %q: %w", l, err)
	}
	return nil
}

// writeThreadSelf writes val to /proc/thread-self/<sub> through a
// verified procfs handle, in one write(2) as the kernel wants it.
func writeThreadSelf(sub, val string) error {
	proc, err := procfs.OpenProcRoot()
	if err != nil {
		return fmt.Errorf("open procfs: %w", err)
	}
	defer proc.Close()
	h, unlock, err := proc.OpenThreadSelf(sub)
	if err != nil {
		return err
	}
	// OpenThreadSelf locked us to this thread; the caller's own lock
	// (the init's) outlives this unlock.
	defer unlock()
	defer h.Close()
	f, err := pathrs.Reopen(h, unix.O_WRONLY|unix.O_CLOEXEC)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Write([]byte(val))
	return err
}
