// Package fs2 is the cgroup v2 (unified hierarchy) driver: it writes the
// cgroupfs files of one container's cgroup directly. Device access is
// enforced by an eBPF program, since cgroup v2 has no devices controller.
package fs2

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/cgroups"
	"github.com/teu-runtime/teu/libcontainer/system"
)

// Manager is a container's cgroup on the unified hierarchy.
type Manager struct {
	root     string // the cgroup2 mount, e.g. /sys/fs/cgroup
	path     string // cgroup path below root, starting with "/"
	dir      string // root + path
	rootless bool
	cfg      cgroups.Config

	// killTimeout bounds how long Destroy waits for a killed cgroup to
	// empty; a test seam.
	killTimeout time.Duration
}

var _ cgroups.Manager = (*Manager)(nil)

// NewManager returns the manager of the cgroup at path (absolute from the
// hierarchy root, e.g. "/teu/ctr1") on the cgroup2 filesystem mounted at
// root (normally /sys/fs/cgroup; tests pass a fake tree). Nothing is
// created until Apply; limits are written by Set. cfg may be nil; only its
// Rootless is used (a cgroup that can't be created is then skipped).
func NewManager(root, path string, cfg *cgroups.Config) (*Manager, error) {
	if root == "" || !filepath.IsAbs(root) {
		return nil, fmt.Errorf("cgroup2 root %q is not an absolute path", root)
	}
	clean := filepath.Clean("/" + path)
	if clean == "/" {
		return nil, fmt.Errorf("cgroup path %q: refusing to manage the root cgroup", path)
	}
	m := &Manager{root: filepath.Clean(root), path: clean, dir: filepath.Join(root, clean), killTimeout: 10 * time.Second}
	if cfg != nil {
		m.rootless = cfg.Rootless
		m.cfg = *cfg
	}
	return m, nil
}

// Path returns the cgroup's directory.
func (m *Manager) Path() string { return m.dir }

// Paths maps "" to the cgroup's directory, as the state file records it.
func (m *Manager) Paths() map[string]string { return map[string]string{"": m.dir} }

// Exists reports whether the cgroup directory is there.
func (m *Manager) Exists() bool {
	_, err := os.Stat(filepath.Join(m.dir, "cgroup.procs"))
	return err == nil
}

// Apply creates the cgroup (enabling the controllers it needs in its
// ancestors) and moves pid into it. pid -1 only creates.
func (m *Manager) Apply(pid int) error {
	made, err := m.create()
	if err != nil {
		if cgroups.RootlessSkip(&m.cfg, err) {
			return cgroups.Skipped("no cgroup", err) // run without one
		}
		return cgroups.DelegationHint(&m.cfg, err)
	}
	if pid == -1 {
		return nil
	}
	if err := writeProcs(m.dir, pid); err != nil {
		if cgroups.RootlessSkip(&m.cfg, err) {
			// Made, but not ours to enter (the caller is outside the
			// delegated subtree): without it, and without the directory.
			if made {
				unix.Rmdir(m.dir)
			}
			return cgroups.Skipped("no cgroup", err)
		}
		return cgroups.DelegationHint(&m.cfg, err)
	}
	return nil
}

// create makes every missing directory from root down to the leaf and
// turns on, in each ancestor's cgroup.subtree_control, the controllers the
// ancestor has, so that the leaf gets their interface files. made: the
// leaf is new.
func (m *Manager) create() (made bool, err error) {
	rel := strings.Split(strings.TrimPrefix(m.path, "/"), "/")
	cur := m.root
	for i, elem := range rel {
		if err := enableControllers(cur); err != nil {
			return false, err
		}
		cur = filepath.Join(cur, elem)
		err := os.Mkdir(cur, 0o755)
		if err != nil && !errors.Is(err, os.ErrExist) {
			return false, fmt.Errorf("create cgroup %s: %w", cur, err)
		}
		if i < len(rel)-1 {
			continue
		}
		made = err == nil
		// An existing leaf must be a cgroup, not a stray directory.
		if _, err := os.Stat(filepath.Join(cur, "cgroup.procs")); err != nil {
			return made, fmt.Errorf("%s is not a cgroup: %w", cur, err)
		}
	}
	return made, nil
}

// enableControllers turns on in dir's subtree_control all controllers in
// dir's cgroup.controllers that are not on yet. One at a time on failure:
// a controller that can't be enabled (e.g. cpu with realtime tasks around,
// or a non-root cgroup with processes of its own) must not keep the others
// off; Set reports a limit whose controller is missing.
func enableControllers(dir string) error {
	avail, err := readFields(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return fmt.Errorf("read controllers of %s: %w", dir, err)
	}
	on, err := readFields(filepath.Join(dir, "cgroup.subtree_control"))
	if err != nil {
		return fmt.Errorf("read subtree_control of %s: %w", dir, err)
	}
	enabled := map[string]bool{}
	for _, c := range on {
		enabled[c] = true
	}
	var want []string
	for _, c := range avail {
		if !enabled[c] {
			want = append(want, "+"+c)
		}
	}
	if len(want) == 0 {
		return nil
	}
	f := filepath.Join(dir, "cgroup.subtree_control")
	if writeFile(f, strings.Join(want, " ")) == nil {
		return nil
	}
	for _, c := range want {
		_ = writeFile(f, c) // best effort, see above
	}
	return nil
}

// writeProcs moves pid into the cgroup. EINVAL can mean the task is still
// being forked (TASK_NEW); retry briefly.
func writeProcs(dir string, pid int) error {
	var err error
	for range 5 {
		err = writeFile(filepath.Join(dir, "cgroup.procs"), strconv.Itoa(pid))
		if !errors.Is(err, unix.EINVAL) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("move pid %d into cgroup: %w", pid, err)
	}
	return nil
}

// Pids lists the processes in the cgroup and all its descendants.
func (m *Manager) Pids() ([]int, error) {
	var pids []int
	err := filepath.WalkDir(m.dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && p != m.dir {
				return nil // a sub-cgroup removed while walking
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		ps, err := readProcs(filepath.Join(p, "cgroup.procs"))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		pids = append(pids, ps...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list cgroup processes: %w", err)
	}
	return pids, nil
}

func readProcs(file string) ([]int, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var pids []int
	s := bufio.NewScanner(f)
	for s.Scan() {
		if t := strings.TrimSpace(s.Text()); t != "" {
			pid, err := strconv.Atoi(t)
			if err != nil {
				return nil, fmt.Errorf("parse %s: %w", file, err)
			}
			pids = append(pids, pid)
		}
	}
	return pids, s.Err()
}

// Signal sends sig to every process in the cgroup: SIGKILL through
// cgroup.kill (5.14+), which also catches processes forked meanwhile;
// other signals one pid at a time.
func (m *Manager) Signal(sig unix.Signal) error {
	if sig == unix.SIGKILL {
		err := writeFile(filepath.Join(m.dir, "cgroup.kill"), "1")
		if err == nil {
			return nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("kill cgroup: %w", err)
		}
		// No cgroup.kill (before 5.14): one pid at a time.
	}
	pids, err := m.Pids()
	if err != nil {
		return err
	}
	for _, pid := range pids {
		if err := unix.Kill(pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("signal %d: %w", pid, err)
		}
	}
	return nil
}

// Destroy kills whatever is left in the cgroup, waits for it to empty and
// removes it with its sub-cgroups. A missing cgroup is not an error.
func (m *Manager) Destroy() error {
	if _, err := os.Stat(m.dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := m.Signal(unix.SIGKILL); err != nil && m.Exists() {
		return err
	}
	// The tasks are gone from cgroup.procs only once they have exited.
	if err := waitEvent(m.dir, "populated", "0", m.killTimeout); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("wait for cgroup to empty: %w", err)
	}
	return removeTree(m.dir)
}

// removeTree removes a cgroup and its descendants, deepest first
// (cgroupfs directories go with rmdir, never with unlink of their files).
func removeTree(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("remove cgroup: %w", err)
	}
	for _, e := range ents {
		if e.IsDir() {
			if err := removeTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	var rerr error
	for range 10 {
		rerr = unix.Rmdir(dir)
		// EBUSY: a zombie still being reaped out of the cgroup.
		if rerr == nil || errors.Is(rerr, unix.ENOENT) {
			return nil
		}
		if !errors.Is(rerr, unix.EBUSY) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("remove cgroup %s: %w", dir, rerr)
}

// readFields reads a space-separated one-line file (cgroup.controllers).
func readFields(file string) ([]string, error) {
	b, err := system.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(b)), nil
}

// writeFile writes val to a cgroup file, a line per write: the kernel
// parses one entry per write (io.max, rdma.max, ...), and a unified value
// may hold several, as runc's do. The file must exist (it is never
// created): a missing file means a missing controller or kernel feature.
func writeFile(file, val string) error {
	return cgroups.Write(file, val, true)
}

func readFile(file string) (string, error) {
	b, err := system.ReadFile(file)
	return strings.TrimSpace(string(b)), err
}

// Persistent: a cgroupfs directory outlives its processes.
func (m *Manager) Persistent() {}
