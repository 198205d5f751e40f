package cgroups

import (
	"fmt"
	"sync"
)

// Driver names, for Register.
const (
	DriverFs1     = "fs1"     // cgroup v1 and hybrid hosts: libcontainer/cgroups/fs1
	DriverFs2     = "fs2"     // unified cgroup v2: libcontainer/cgroups/fs2
	DriverSystemd = "systemd" // a transient systemd scope (--systemd-cgroup)
)

// A Driver builds a Manager. paths is nil for a new cgroup (New) and the
// Paths() persisted in state.json when rebuilding one (Load).
//
// The driver packages cannot be imported from here (they import this
// package), so each registers itself from its init:
//
//	func init() { cgroups.Register(cgroups.DriverFs2, NewManager) }
//
// and libcontainer imports the driver packages for that side effect (see
// libcontainer/cgroups_drivers.go).
type Driver func(cfg Config, paths map[string]string) (Manager, error)

var (
	driversMu sync.RWMutex
	drivers   = map[string]Driver{}
)

// Register makes a driver available to New and Load.
func Register(name string, d Driver) {
	driversMu.Lock()
	defer driversMu.Unlock()
	drivers[name] = d
}

// Registered reports whether driver name is in this build (for `features`).
func Registered(name string) bool {
	driversMu.RLock()
	defer driversMu.RUnlock()
	return drivers[name] != nil
}

// driverFor picks the driver for cfg on this host: systemd when asked
// for, fs2 on a unified host, fs1 otherwise (legacy and hybrid).
func driverFor(cfg *Config) (Driver, error) {
	name := DriverFs1
	switch {
	case cfg.Systemd:
		name = DriverSystemd
	case GetMode() == Unified:
		name = DriverFs2
	}
	driversMu.RLock()
	d := drivers[name]
	driversMu.RUnlock()
	if d == nil {
		return nil, fmt.Errorf("cgroup driver %s (for a %s host) is not available in this build", name, GetMode())
	}
	return d, nil
}

// New returns the Manager for a container's new cgroup; nothing is created
// until Apply.
func New(cfg Config) (Manager, error) {
	d, err := driverFor(&cfg)
	if err != nil {
		return nil, err
	}
	return d(cfg, nil)
}

// Load rebuilds the Manager of an existing cgroup from the paths its
// Paths() returned (as persisted in state.json).
func Load(cfg Config, paths map[string]string) (Manager, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("load cgroup: no paths")
	}
	d, err := driverFor(&cfg)
	if err != nil {
		return nil, err
	}
	return d(cfg, paths)
}

// OOMNotifier is implemented by managers that can report OOM kills as
// they happen (fs1: memory.oom_control via cgroup.event_control).
type OOMNotifier interface {
	// OOMEvents sends one value per OOM notification; the channel is
	// closed when the cgroup goes away or stop is closed.
	OOMEvents(stop <-chan struct{}) (<-chan struct{}, error)
}
