package cgroups

import (
	"sync"

	"golang.org/x/sys/unix"
)

// Where the host's cgroup filesystems are mounted.
const (
	MountRoot   = "/sys/fs/cgroup"
	hybridMount = "/sys/fs/cgroup/unified"
)

var (
	modeOnce sync.Once
	mode     Mode
)

// GetMode detects the host's cgroup layout, once per process: cgroup2 at
// /sys/fs/cgroup is Unified; v1 hierarchies with a cgroup2 mount at
// /sys/fs/cgroup/unified is Hybrid; otherwise Legacy.
func GetMode() Mode {
	modeOnce.Do(func() { mode = detectMode(MountRoot, hybridMount) })
	return mode
}

func detectMode(root, unified string) Mode {
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return Unified
	}
	if err := unix.Statfs(unified, &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return Hybrid
	}
	return Legacy
}

func (m Mode) String() string {
	switch m {
	case Legacy:
		return "legacy"
	case Hybrid:
		return "hybrid"
	case Unified:
		return "unified"
	}
	return "unknown"
}
