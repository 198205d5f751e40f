package cgroups

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// ErrRootless marks an Apply after which a rootless container runs without
// (some of) its cgroups: the caller may not create them, and no
// cgroupsPath asked for them (runc's rules for --rootless). The Manager
// stays usable for what it has; a limit that needs a missing cgroup fails
// in Set.
var ErrRootless = errors.New("no cgroup is delegated to this user")

// notPermitted: the error is the kernel refusing the caller (no write
// access, or a read-only cgroupfs).
func notPermitted(err error) bool {
	return errors.Is(err, os.ErrPermission) || errors.Is(err, unix.EROFS)
}

// RootlessSkip reports whether a cgroup that could not be made or joined
// (err) is done without: a rootless container without a cgroupsPath.
func RootlessSkip(cfg *Config, err error) bool {
	return cfg.Rootless && cfg.Path == "" && notPermitted(err)
}

// Skipped is the error Apply returns for what it did without (see
// ErrRootless): what and why.
func Skipped(what string, err error) error {
	return fmt.Errorf("%w (uid %d): %s: %w", ErrRootless, os.Geteuid(), what, err)
}

// DelegationHint adds to a permission error of a rootless caller what is
// missing: the cgroup is not delegated. Other errors are returned as they are.
func DelegationHint(cfg *Config, err error) error {
	if err == nil || !cfg.Rootless || !notPermitted(err) {
		return err
	}
	return fmt.Errorf("%w (the cgroup is not delegated to uid %d: it and its cgroup.procs, cgroup.subtree_control and cgroup.threads must be the user's, as systemd's Delegate=yes makes them)", err, os.Geteuid())
}

// CannotSet is Set's error for a limit whose cgroup a rootless container
// could not join or create.
func CannotSet(limit string) error {
	return fmt.Errorf("cannot set %s limit: container could not join or create cgroup: rootless, and %w (uid %d; give the container a cgroupsPath in a delegated cgroup)", limit, ErrRootless, os.Geteuid())
}
