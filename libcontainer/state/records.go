package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/system"
)

// Crash safety (docs/crash-safety.md). create writes what it is about to
// make on the host into resources.json before it makes it (the cgroup
// paths, the mounts it will make in the runtime's mount namespace) and the
// processes it started as soon as it knows them, each save durable
// (Dir.Save). So a create killed at any step leaves a record of all it
// made, and delete --force removes exactly that. resources.json is also
// what survives a damaged state.json: a container is never reported
// stopped, nor its state dir deleted, while what it holds is unaccounted for.

// Version is the format of state.json and resources.json. 0 is the
// format before versions, read as 1.
const Version = 1

// State is what teu keeps in <root>/<id>/state.json.
type State struct {
	// Version of the format (const Version).
	Version     int               `json:"version"`
	ID          string            `json:"id"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Creating is true until create has finished; a container left so by a
	// killed create can only be deleted with --force. Meanwhile
	// resources.json holds its Resources.
	Creating bool `json:"creating,omitempty"`
	// NoNewKeyring: created with --no-new-keyring (exec does as the init).
	NoNewKeyring bool `json:"no_new_keyring,omitempty"`
	Resources
}

// Resources is what a container holds on the host.
type Resources struct {
	// InitPid and InitStartTime (field 22 of /proc/PID/stat) name the
	// container's init, a recycled pid never.
	InitPid       int    `json:"init_pid"`
	InitStartTime uint64 `json:"init_start_time"`
	// ExecPid, ExecStartTime: create's `teu init` before its fork (or the
	// init itself, where it does not fork). Until create has recorded the
	// init, it waits for it (nsenter/exec_proc.c, fork_step): a create
	// killed before that leaves a process whose exit says the unrecorded
	// init is gone too.
	ExecPid       int    `json:"exec_pid,omitempty"`
	ExecStartTime uint64 `json:"exec_start_time,omitempty"`
	// CgroupPaths is the container's cgroup, controller → directory ("" for
	// cgroup2), as its cgroups.Manager's Paths() returned it.
	CgroupPaths map[string]string `json:"cgroup_paths,omitempty"`
	// CgroupParents: controller → the topmost directory create made above
	// the container's cgroup (a cgroupsPath whose parents did not exist);
	// delete removes those again once empty (libcontainer/cgroup.go).
	CgroupParents map[string]string `json:"cgroup_parents,omitempty"`
	// SystemdCgroup: the cgroup is a systemd scope (--systemd-cgroup).
	SystemdCgroup bool `json:"systemd_cgroup,omitempty"`
	// RootlessCgroups: created in rootless mode (--rootless), where the
	// cgroups the caller could not make were skipped.
	RootlessCgroups bool `json:"rootless_cgroups,omitempty"`
	// HostMounts: the ids of the mounts create made in the runtime's mount
	// namespace, for a container without one of its own (package hostmnt).
	HostMounts []int `json:"host_mounts,omitempty"`
	// MountsPending: such an init is making its mounts and HostMounts is
	// not known yet: create's mounts are those under the rootfs that are
	// not in MountsBefore.
	MountsPending bool  `json:"mounts_pending,omitempty"`
	MountsBefore  []int `json:"mounts_before,omitempty"`
	// CriuPid, CriuStartTime: a lazy checkpoint's CRIU, started by teu
	// checkpoint. Once the dump is done it serves the pages with the
	// container's processes still held (ptrace), and the checkpoint lets
	// the lock go: delete --force ends this CRIU, without which they
	// could not die (libcontainer/checkpoint.go).
	CriuPid       int    `json:"criu_pid,omitempty"`
	CriuStartTime uint64 `json:"criu_start_time,omitempty"`
}

// Records is resources.json.
type Records struct {
	Version int    `json:"version"`
	ID      string `json:"id"`
	Bundle  string `json:"bundle"`
	Rootfs  string `json:"rootfs"`
	Resources
}

func checkVersion(v int) error {
	if v < 0 || v > Version {
		return fmt.Errorf("format version %d, which this teu (version %d) does not know", v, Version)
	}
	return nil
}

func checkResources(r *Resources) error {
	if r.InitPid < 0 || r.ExecPid < 0 || r.CriuPid < 0 {
		return errors.New("a negative pid in it")
	}
	return nil
}

// check validates a state read from the state dir of container id: a
// zero value (a file holding "null") is no container.
func (s *State) check(id string) error { return checkRecord(s.Version, s.ID, id, &s.Resources) }

func (r *Records) check(id string) error { return checkRecord(r.Version, r.ID, id, &r.Resources) }

// checkRecord is what state.json and resources.json must both be: a known
// format version, naming container id, with sane pids.
func checkRecord(version int, got, id string, r *Resources) error {
	if err := checkVersion(version); err != nil {
		return err
	}
	switch {
	case got == "":
		return errors.New("no container id in it")
	case got != id:
		return fmt.Errorf("it names container %q, not %q", got, id)
	}
	return checkResources(r)
}

// Damaged reports a container whose state cannot be used: state.json
// missing, unreadable or invalid (or, while it is being created, its
// resources.json). Only delete --force acts on it, with what
// resources.json records (Recovered).
type Damaged struct {
	ID   string
	Path string // the file that cannot be used
	Err  error
	rec  *Records // resources.json, if it could be read
	// recErr: why resources.json could not be read.
	recErr error
}

func (e *Damaged) Error() string {
	msg := fmt.Sprintf("container %s: %s: %v", e.ID, e.Path, e.Err)
	switch {
	case e.rec == nil && e.Path == e.recPath():
		return msg + "; delete --force refuses without this record of what it holds"
	case e.rec == nil:
		return fmt.Sprintf("%s; and %v: delete --force refuses without a record of what it holds", msg, e.recErr)
	case e.rec.InitAlive():
		return fmt.Sprintf("%s (its init, pid %d, is alive; delete --force removes what %s records)", msg, e.rec.InitPid, ResourcesFile)
	}
	return fmt.Sprintf("%s (delete --force removes what %s records)", msg, ResourcesFile)
}

func (e *Damaged) Unwrap() error { return e.Err }

func (e *Damaged) recPath() string { return filepath.Join(filepath.Dir(e.Path), ResourcesFile) }

// LivePid is the pid of the container's init if resources.json names one
// that is alive, else 0: what `list` shows for a damaged container.
func (e *Damaged) LivePid() int {
	if e.rec != nil && e.rec.InitAlive() {
		return e.rec.InitPid
	}
	return 0
}

// ReadRecords reads and checks resources.json in the state dir p.
func ReadRecords(p, id string) (*Records, error) {
	var r Records
	path := filepath.Join(p, ResourcesFile)
	if err := ReadJSON(path, &r); err != nil {
		return nil, err
	}
	if err := r.check(id); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// Read reads the state of container id from its state dir p. While it is
// being created, its resources are resources.json's, which create keeps
// ahead of what it makes. stub: neither file exists (a create that died,
// or has not got so far, before it wrote anything; it made nothing). An
// error is NotExist (no dir) or a *Damaged.
func Read(p, id string) (st State, stub bool, err error) {
	sp := filepath.Join(p, File)
	err = ReadJSON(sp, &st)
	if err == nil {
		if cerr := st.check(id); cerr != nil {
			err = cerr
		}
	}
	if err == nil {
		if !st.Creating {
			return st, false, nil
		}
		rec, rerr := ReadRecords(p, id)
		switch {
		case rerr == nil:
			st.Resources = rec.Resources
		case !errors.Is(rerr, os.ErrNotExist):
			return st, false, &Damaged{ID: id, Path: filepath.Join(p, ResourcesFile), Err: rerr, recErr: rerr}
		}
		return st, false, nil
	}
	rec, rerr := ReadRecords(p, id)
	if errors.Is(err, os.ErrNotExist) {
		if errors.Is(rerr, os.ErrNotExist) {
			if _, serr := os.Stat(p); serr != nil {
				return State{}, false, notExist{id}
			}
			return State{ID: id, Creating: true}, true, nil
		}
		err = errors.New("missing")
	}
	var perr *os.PathError
	if errors.As(err, &perr) && perr.Path == sp {
		err = perr.Err
	}
	return State{}, false, &Damaged{ID: id, Path: sp, Err: trimPath(err, sp), rec: rec, recErr: rerr}
}

// trimPath drops "parse PATH: " from err, which Damaged names anyway.
func trimPath(err error, path string) error {
	if u := errors.Unwrap(err); u != nil && err.Error() == "parse "+path+": "+u.Error() {
		return u
	}
	return err
}

// Recovered is the state delete --force acts on for a damaged container:
// what its resources.json records; false if it could not be read.
func (e *Damaged) Recovered() (State, bool) {
	if e.rec == nil {
		return State{}, false
	}
	return State{Version: e.rec.Version, ID: e.ID, Bundle: e.rec.Bundle, Rootfs: e.rec.Rootfs, Creating: true, Resources: e.rec.Resources}, true
}

// InitAlive reports whether r's init still exists (and is not a recycled
// pid).
func (r *Resources) InitAlive() bool { return Alive(r.InitPid, r.InitStartTime) }

// Alive reports whether the process pid, started at start (field 22 of
// /proc/PID/stat), still exists.
func Alive(pid int, start uint64) bool {
	fd, err := system.PidFD(pid, start)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}
