package cgroups

import (
	"fmt"
	"slices"
)

// MoveToOwn moves pid out of the cgroups in paths (controller → directory,
// as Manager.Paths gives them) into the caller's own cgroup of each of
// those hierarchies. The init does its set-up there, so that what the
// runtime itself allocates is not charged to the container (see
// libcontainer/launch.go); MoveInto puts it back before the user's process
// runs. host is the host's view (ReadHost).
func MoveToOwn(pid int, paths map[string]string, host *Host) error {
	hs, own := host.Hierarchies, host.Own
	for key := range paths {
		i := slices.IndexFunc(hs, func(h Hierarchy) bool {
			if key == "" {
				return h.Unified
			}
			return slices.Contains(h.Controllers, key)
		})
		inner, ok := own[key]
		if i < 0 || !ok {
			return fmt.Errorf("no own cgroup for %q", key)
		}
		dir, err := hs[i].Dir(inner)
		if err != nil {
			return err
		}
		if err := WriteProc(dir, pid); err != nil {
			return err
		}
	}
	return nil
}

// MoveInto moves pid into every cgroup of paths.
func MoveInto(pid int, paths map[string]string) error {
	for _, dir := range paths {
		if err := WriteProc(dir, pid); err != nil {
			return err
		}
	}
	return nil
}

// Persistent is implemented by drivers whose cgroups stay while they are
// empty for a moment (cgroupfs; a systemd scope would be stopped), so the
// init may leave them for its set-up and come back.
type Persistent interface {
	Persistent()
}
