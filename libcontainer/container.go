// Package libcontainer creates and manages containers from OCI bundles. It
// knows nothing of the command line: commands call Create, Load and the
// Container methods.
package libcontainer

import (
	"errors"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/teu-runtime/teu/libcontainer/state"
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

// Container is a loaded container, its state kept by package state. The
// methods that change it hold the lock on its state directory between Load
// and Close.
type Container struct {
	root  string
	state state.State
	dir   *state.Dir
	// procSpec and hooksSpec cache ProcessConfig and hooksAndNamespaces:
	// delete --force, exec read the stored spec more than once.
	procSpec, hooksSpec *specs.Spec
}

// Load reads the container id under root and locks it against other teu
// processes until Close. A state that cannot be read is a *state.Damaged.
func Load(root, id string) (*Container, error) {
	if err := state.ValidateID(id); err != nil {
		return nil, err
	}
	d, err := state.Open(root, id)
	if err != nil {
		return nil, err
	}
	st, _, err := state.Read(d.Path(), id)
	if err != nil {
		d.Unlock()
		return nil, err
	}
	return &Container{root: root, dir: d, state: st}, nil
}

// LoadState reads a container's state without locking it, for the cheap,
// read-only commands (state, list) that engines call often. A container
// whose create has not written its state yet does not exist yet (as with
// runc); a state that cannot be read is a *state.Damaged.
func LoadState(root, id string) (*Container, error) {
	if err := state.ValidateID(id); err != nil {
		return nil, err
	}
	p := filepath.Join(root, id)
	st, stub, err := state.Read(p, id)
	if err != nil {
		return nil, err
	}
	if stub && state.LockedByOther(p) {
		return nil, state.NotExist(id)
	}
	return &Container{root: root, state: st}, nil
}

// Close releases the lock taken by Load.
func (c *Container) Close() {
	if c.dir != nil {
		c.dir.Unlock()
	}
}

// relock takes the lock again after a checkpoint let it go, and says
// whether the state dir still holds the same container (a delete --force
// meanwhile removes it; a create may have reused the id).
func (c *Container) relock() (bool, error) {
	d, err := state.Open(c.root, c.state.ID)
	if errors.Is(err, state.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	st, _, err := state.Read(d.Path(), c.state.ID)
	if err != nil || !st.Created.Equal(c.state.Created) || st.InitPid != c.state.InitPid {
		d.Unlock()
		return false, err
	}
	c.dir, c.state = d, st
	return true, nil
}

// ID returns the container's id.
func (c *Container) ID() string { return c.state.ID }

// State returns the persisted state.
func (c *Container) State() state.State { return c.state }

func (c *Container) stateDirPath() string { return filepath.Join(c.root, c.state.ID) }

// initAlive reports whether the container's init still exists (and is not
// a recycled pid).
func (c *Container) initAlive() bool { return c.state.InitAlive() }

// records is the container's resources.json as it stands now.
func (c *Container) records() *state.Records {
	return &state.Records{Version: state.Version, ID: c.state.ID, Bundle: c.state.Bundle, Rootfs: c.state.Rootfs, Resources: c.state.Resources}
}

// Status derives the container's status from its init process and files:
// no init means stopped; an exec.fifo still there means start has not run.
// A container being created is creating until its create is over: its
// init or create's own process lives, or a create holds the lock.
func (c *Container) Status() Status {
	if c.state.Creating {
		if c.initAlive() || state.Alive(c.state.ExecPid, c.state.ExecStartTime) ||
			(c.dir == nil && state.LockedByOther(c.stateDirPath())) {
			return Creating
		}
		return Stopped
	}
	if !c.initAlive() {
		return Stopped
	}
	if c.frozen() {
		return Paused
	}
	if _, err := os.Lstat(filepath.Join(c.stateDirPath(), state.FifoFile)); err == nil {
		return Created
	}
	return Running
}

// OCIState is the state in runtime-spec form (for hooks).
func (c *Container) OCIState() specs.State {
	st := c.Status()
	pid := c.state.InitPid
	if st == Stopped || (st == Creating && !c.initAlive()) {
		pid = 0
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
	if err := state.ReadJSON(filepath.Join(c.stateDirPath(), state.ConfigFile), &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// ProcessConfig reads the stored spec without its cgroup and other
// platforms' sections (procSpec): what exec builds its process from.
func (c *Container) ProcessConfig() (*specs.Spec, error) {
	if c.procSpec == nil {
		var m procSpec
		if err := state.ReadJSON(filepath.Join(c.stateDirPath(), state.ConfigFile), &m); err != nil {
			return nil, err
		}
		c.procSpec = m.spec()
	}
	return c.procSpec, nil
}

// hooksAndNamespaces reads only what start, kill and delete need of the
// stored spec: a *specs.Spec with its hooks and namespaces alone, which
// costs a fresh teu process a fraction of decoding the whole spec (every
// type a specs.Spec reaches: bench/README.md). Create fills it in.
func (c *Container) hooksAndNamespaces() (*specs.Spec, error) {
	if c.hooksSpec == nil {
		var s struct {
			Hooks *specs.Hooks `json:"hooks"`
			Linux struct {
				Namespaces []specs.LinuxNamespace `json:"namespaces"`
			} `json:"linux"`
		}
		if err := state.ReadJSON(filepath.Join(c.stateDirPath(), state.ConfigFile), &s); err != nil {
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
		if e.IsDir() && state.ValidateID(e.Name()) == nil {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}
