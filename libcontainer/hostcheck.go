package libcontainer

import (
	"errors"
	"fmt"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// checkHost refuses, before anything is made, a config this host cannot
// honour: network devices that are not there, or linux.intelRdt.
func checkHost(s *specs.Spec) error {
	if err := checkIntelRdt(s.Linux.IntelRdt); err != nil {
		return err
	}
	return checkNetDevices(s.Linux.NetDevices)
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
