// Package libcontainer creates and manages containers from OCI bundles. It
// knows nothing of the command line: commands call Create, Load and the
// Container methods.
package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/system"
)

// Status is a container's lifecycle state as `state` reports it.
type Status string

const (
	Creating Status = "creating"
	Created  Status = "created"
	Running  Status = "running"
	Paused   Status = "paused"
	Stopped  Status = "stopped"
)

// State is what teu keeps in <root>/<id>/state.json.
type State struct {
	ID            string            `json:"id"`
	InitPid       int               `json:"init_pid"`
	InitStartTime uint64            `json:"init_start_time"`
	Bundle        string            `json:"bundle"`
	Rootfs        string            `json:"rootfs"`
	Created       time.Time         `json:"created"`
	Owner         string            `json:"owner"`
	Annotations   map[string]string `json:"annotations,omitempty"`
	// Creating is true until create has finished; a container left so by a
	// killed create can only be deleted with --force.
	Creating bool `json:"creating,omitempty"`
	// CgroupPaths is the container's cgroup, controller → directory ("" for
	// cgroup2), as its cgroups.Manager's Paths() returned it.
	CgroupPaths map[string]string `json:"cgroup_paths,omitempty"`
	// CgroupParents: controller → the topmost directory create made above
	// the container's cgroup (a cgroupsPath whose parents did not exist);
	// delete removes those again once empty (cgroup.go, removeParents).
	CgroupParents map[string]string `json:"cgroup_parents,omitempty"`
	// NoNewKeyring: created with --no-new-keyring (exec does as the init).
	NoNewKeyring bool `json:"no_new_keyring,omitempty"`
	// SystemdCgroup: the cgroup is a systemd scope (--systemd-cgroup).
	SystemdCgroup bool `json:"systemd_cgroup,omitempty"`
	// RootlessCgroups: created in rootless mode (--rootless), where the
	// cgroups the caller could not make were skipped.
	RootlessCgroups bool `json:"rootless_cgroups,omitempty"`
	// HostMounts: the ids of the mounts create made in the runtime's mount
	// namespace, for a container without one of its own (hostmnt.go).
	HostMounts []int `json:"host_mounts,omitempty"`
}

// Container is a loaded container. The methods that change it hold the
// lock on its state directory between Load and Close.
type Container struct {
	root  string
	state State
	dir   *stateDir
	// procSpec and hooksSpec cache ProcessConfig and hooksAndNamespaces:
	// delete --force, exec read the stored spec more than once.
	procSpec, hooksSpec *specs.Spec
}

// Load reads the container id under root and locks it against other teu
// processes until Close.
func Load(root, id string) (*Container, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	d, err := openStateDir(root, id)
	if err != nil {
		return nil, err
	}
	c := &Container{root: root, dir: d}
	if err := readJSON(d.file(stateFile), &c.state); err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			d.unlock()
			return nil, fmt.Errorf("read state: %w", err)
		}
		// create was killed before it wrote anything: only delete --force
		// can act on this, and there is nothing but the directory to remove.
		c.state = State{ID: id, Creating: true}
	}
	return c, nil
}

// LoadState reads a container's state without locking it, for the cheap,
// read-only commands (state, list) that engines call often.
func LoadState(root, id string) (*Container, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	c := &Container{root: root}
	p := filepath.Join(root, id)
	if err := readJSON(filepath.Join(p, stateFile), &c.state); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if _, serr := os.Stat(p); serr == nil {
				c.state = State{ID: id, Creating: true}
				return c, nil
			}
			return nil, notExist{id}
		}
		return nil, err
	}
	return c, nil
}

// Close releases the lock taken by Load.
func (c *Container) Close() {
	if c.dir != nil {
		c.dir.unlock()
	}
}

// ID returns the container's id.
func (c *Container) ID() string { return c.state.ID }

// State returns the persisted state.
func (c *Container) State() State { return c.state }

func (c *Container) stateDirPath() string { return filepath.Join(c.root, c.state.ID) }

// initAlive reports whether the container's init still exists (and is not
// a recycled pid).
func (c *Container) initAlive() bool {
	fd, err := system.PidFD(c.state.InitPid, c.state.InitStartTime)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}

// Status derives the container's status from its init process and files:
// no init means stopped; an exec.fifo still there means start has not run.
func (c *Container) Status() Status {
	if !c.initAlive() {
		return Stopped
	}
	if c.state.Creating {
		return Creating
	}
	if c.frozen() {
		return Paused
	}
	if _, err := os.Lstat(filepath.Join(c.stateDirPath(), fifoFile)); err == nil {
		return Created
	}
	return Running
}

// OCIState is the state in runtime-spec form (for hooks).
func (c *Container) OCIState() specs.State {
	st := c.Status()
	pid := c.state.InitPid
	if st == Stopped {
		pid = 0
	}
	if st == Creating {
		st = Creating
	}
	return specs.State{
		Version:     specs.Version,
		ID:          c.state.ID,
		Status:      specs.ContainerState(st),
		Pid:         pid,
		Bundle:      c.state.Bundle,
		Annotations: c.state.Annotations,
	}
}

// Config reads the spec the container was created with.
func (c *Container) Config() (*specs.Spec, error) {
	var s specs.Spec
	if err := readJSON(filepath.Join(c.stateDirPath(), configFile), &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// ProcessConfig reads the stored spec without its cgroup and other
// platforms' sections (procSpec): what exec builds its process from.
func (c *Container) ProcessConfig() (*specs.Spec, error) {
	if c.procSpec == nil {
		var m procSpec
		if err := readJSON(filepath.Join(c.stateDirPath(), configFile), &m); err != nil {
			return nil, err
		}
		c.procSpec = m.spec()
	}
	return c.procSpec, nil
}

// hooksAndNamespaces reads only what start, kill and delete need of the
// stored spec: a *specs.Spec with its hooks and namespaces alone. Decoding
// a whole specs.Spec costs a fresh teu process ~5 ms (bench/README.md):
// encoding/json lists the fields of, and builds an encoder for, every type
// a struct can reach (all of LinuxResources, Windows, VM...) before it
// decodes a single value.
func (c *Container) hooksAndNamespaces() (*specs.Spec, error) {
	if c.hooksSpec == nil {
		var s struct {
			Hooks *specs.Hooks `json:"hooks"`
			Linux struct {
				Namespaces []specs.LinuxNamespace `json:"namespaces"`
			} `json:"linux"`
		}
		if err := readJSON(filepath.Join(c.stateDirPath(), configFile), &s); err != nil {
			return nil, err
		}
		c.hooksSpec = &specs.Spec{Hooks: s.Hooks, Linux: &specs.Linux{Namespaces: s.Linux.Namespaces}}
	}
	return c.hooksSpec, nil
}

// List returns the ids of all containers under root.
func List(root string) ([]string, error) {
	ents, err := os.ReadDir(root)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var ids []string
	for _, e := range ents {
		if e.IsDir() && ValidateID(e.Name()) == nil {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}
