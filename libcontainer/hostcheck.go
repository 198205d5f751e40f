package libcontainer

import (
	"errors"
	"fmt"
	"os"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/teu-runtime/teu/libcontainer/netdev"
)

// checkHost refuses, before anything is made, a config this host cannot
// honour: network devices that are not there, or linux.intelRdt; or one
// the caller cannot run: namespaces without a user namespace, not root.
func checkHost(s *specs.Spec) error {
	if err := checkRootless(s, os.Geteuid()); err != nil {
		return err
	}
	if err := checkIntelRdt(s.Linux.IntelRdt); err != nil {
		return err
	}
	return netdev.Check(s.Linux.NetDevices)
}

// checkRootless: a caller other than root may make namespaces only inside
// a user namespace of its own (the kernel says EPERM much later, naming
// no cause). runc words it the same way.
func checkRootless(s *specs.Spec, euid int) error {
	if euid == 0 {
		return nil
	}
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.UserNamespace {
			return nil
		}
	}
	return fmt.Errorf("rootless container requires user namespaces: teu runs as uid %d, not root, "+
		"and config.json has no user namespace (teu spec --rootless writes a config with one)", euid)
}

// checkIntelRdt fails for any linux.intelRdt: the spec wants an error
// without a mounted resctrl, and teu does not write resctrl groups yet
// (features says intelRdt is not enabled), so it never ignores one.
func checkIntelRdt(r *specs.LinuxIntelRdt) error {
	if r == nil {
		return nil
	}
	mounts, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("resctrl"))
	if err != nil {
		return fmt.Errorf("linux.intelRdt: read mountinfo: %w", err)
	}
	if len(mounts) == 0 {
		return errors.New("linux.intelRdt: no resctrl filesystem is mounted on this host")
	}
	return errors.New("linux.intelRdt: not supported by teu")
}
