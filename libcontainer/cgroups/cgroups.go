// Package cgroups places a container's processes in cgroups and applies the
// spec's resource limits. A Manager hides which driver does it: fs1 (cgroup
// v1, including hybrid hosts), fs2 (the unified cgroup v2 hierarchy) or
// systemd (a transient scope). The package knows nothing of containers'
// state: callers persist Paths() and rebuild a Manager with Load.
package cgroups

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Mode is the host's cgroup layout, detected once per process.
type Mode int

const (
	Legacy  Mode = iota // only v1 hierarchies
	Hybrid              // v1 controllers plus a cgroup2 mount (with few or no controllers)
	Unified             // only cgroup2 at /sys/fs/cgroup
)

// Config says where a container's cgroup goes and what it may use.
type Config struct {
	// ID is the container id, the default leaf name.
	ID string
	// Path is linux.cgroupsPath: absolute (from the hierarchy root),
	// relative (to the caller's own cgroup), or "" for <caller's cgroup>/<ID>;
	// with Systemd, "slice:prefix:name".
	Path string
	// Systemd selects the systemd driver (--systemd-cgroup).
	Systemd bool
	// Rootless: a cgroup that cannot be created is skipped, not an error.
	Rootless bool
	// Resources from linux.resources; may be nil.
	Resources *specs.LinuxResources
	// Annotations carry org.systemd.property.* for the systemd driver.
	Annotations map[string]string
	// LateLimits: Apply makes the cgroup without limits; the caller sets
	// them (Set) once the container's set-up is done, as runc does, so
	// that a limit such as pids 1 does not stop the set-up's own forks.
	// For a driver whose cgroup the runtime cannot leave meanwhile
	// (a systemd scope vanishes when empty).
	LateLimits bool
	// Host is the host's cgroup view if the caller has read it (ReadHost);
	// nil: the driver reads it.
	Host *Host
}

// FreezerState is a cgroup's freezer state.
type FreezerState string

const (
	Thawed FreezerState = "THAWED"
	Frozen FreezerState = "FROZEN"
)

// Manager is one container's cgroup(s).
type Manager interface {
	// Apply creates the cgroup if needed and moves pid into it. It runs
	// before the init creates its cgroup namespace.
	Apply(pid int) error
	// Set writes resource limits (at create and on update).
	Set(r *specs.LinuxResources) error
	// Freeze and Thaw pause and resume every process in the cgroup.
	Freeze() error
	Thaw() error
	// FreezerState reports whether the cgroup is frozen.
	FreezerState() (FreezerState, error)
	// Pids lists every process in the cgroup (and its sub-cgroups).
	Pids() ([]int, error)
	// Signal sends sig to every process in the cgroup (cgroup.kill for
	// SIGKILL where the kernel has it).
	Signal(sig unix.Signal) error
	// Stats is a snapshot in runc's `events --stats` shape.
	Stats() (*Stats, error)
	// Destroy kills what is left in the cgroup and removes it.
	Destroy() error
	// Paths maps controller (or "" for cgroup2) to directory, for state.json.
	Paths() map[string]string
	// Exists reports whether the cgroup is still there.
	Exists() bool
}
