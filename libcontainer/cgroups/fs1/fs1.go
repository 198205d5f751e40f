// Package fs1 is the cgroup v1 driver: one directory per mounted
// controller hierarchy (/sys/fs/cgroup/<controller>/<path>). On a hybrid
// host the container's processes are also placed in the cgroup2 hierarchy
// at /sys/fs/cgroup/unified under the same path, as runc does, so that
// tools (systemd, BPF programs) that look there find them.
package fs1

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/cgroups"
)

func init() { cgroups.Register(cgroups.DriverFs1, NewManager) }

// writeFile writes a control file; the unit tests wrap it to see the order
// of writes (a fake cgroupfs keeps only the last one).
var writeFile = cgroups.WriteFile

// writeEach writes values to one control file through one open (seam as
// writeFile).
var writeEach = cgroups.WriteEach

// Manager is a container's set of v1 cgroups.
type Manager struct {
	mu    sync.Mutex
	cfg   cgroups.Config
	paths map[string]string // controller ("name=systemd"; "" for the hybrid cgroup2) → dir
}

var _ cgroups.Manager = (*Manager)(nil)
var _ cgroups.OOMNotifier = (*Manager)(nil)

// NewManager is the fs1 Driver: with paths nil the cgroup's directories
// are resolved from the host's mounts and the caller's own cgroups; else
// paths (from state.json) are used as they are.
func NewManager(cfg cgroups.Config, paths map[string]string) (cgroups.Manager, error) {
	if paths != nil {
		return NewWithPaths(cfg, paths), nil
	}
	host, err := cfg.HostView()
	if err != nil {
		return nil, err
	}
	p, err := ResolvePaths(&cfg, host.Hierarchies, host.Own)
	if err != nil {
		return nil, err
	}
	return NewWithPaths(cfg, p), nil
}

// NewWithPaths is a Manager for the given directories. It is the seam the
// unit tests use to run against a fake cgroupfs tree.
func NewWithPaths(cfg cgroups.Config, paths map[string]string) *Manager {
	p := make(map[string]string, len(paths))
	for k, v := range paths {
		p[k] = v
	}
	return &Manager{cfg: cfg, paths: p}
}

// ResolvePaths maps every controller of the hierarchies hs to the
// container's directory in it; own is the caller's cgroups (as
// cgroups.OwnCgroups returns). Named v1 hierarchies other than
// name=systemd are left alone, as runc does.
func ResolvePaths(cfg *cgroups.Config, hs []cgroups.Hierarchy, own map[string]string) (map[string]string, error) {
	paths := map[string]string{}
	for i := range hs {
		h := &hs[i]
		keys := h.Controllers
		if h.Unified {
			keys = []string{""}
		}
		for _, c := range keys {
			if strings.HasPrefix(c, "name=") && c != "name=systemd" {
				continue
			}
			inner, err := cgroups.InnerPath(cfg, own[c])
			if err != nil {
				return nil, err
			}
			dir, err := h.Dir(inner)
			if err != nil {
				return nil, err
			}
			paths[c] = dir
		}
	}
	if len(paths) == 0 {
		return nil, errors.New("no cgroup v1 hierarchy is mounted")
	}
	return paths, nil
}

// names returns the controllers in a stable order.
func (m *Manager) names() []string {
	var n []string
	for k := range m.paths {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Apply creates the cgroups and moves pid into each of them. A rootless
// container without a cgroupsPath does without those it may not make
// (cgroups.ErrRootless, listing them); the cgroup2 one of a hybrid host is
// a courtesy, never a failure.
func (m *Manager) Apply(pid int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	done := map[string]error{}
	var skipped []string
	var skipErr error
	for _, name := range m.names() {
		dir := m.paths[name]
		err, seen := done[dir]
		if !seen {
			if name == "cpuset" || m.paths["cpuset"] == dir {
				err = ensureCpuset(dir, m.cfg.Resources)
			} else if err = mkdirAll(dir); err != nil {
				err = fmt.Errorf("create cgroup %s: %w", dir, err)
			}
			if err == nil && pid > 0 {
				if err = writeFile(dir, "cgroup.procs", strconv.Itoa(pid)); err != nil {
					err = fmt.Errorf("join cgroup %s: %w", dir, err)
				}
			}
			done[dir] = err
		}
		switch {
		case err == nil:
			continue
		case name == "":
			if !seen && !m.cfg.Rootless {
				slog.Warn("cgroup skipped", "controller", "cgroup2", "error", err)
			}
		case cgroups.RootlessSkip(&m.cfg, err):
			skipped = append(skipped, name)
			if skipErr == nil {
				skipErr = err
			}
		default:
			return cgroups.DelegationHint(&m.cfg, err)
		}
		delete(m.paths, name)
	}
	if len(skipped) > 0 {
		what := "no " + strings.Join(skipped, ", ") + " cgroup"
		if len(m.paths) == 0 || (len(m.paths) == 1 && m.paths[""] != "") {
			what = "no cgroup"
		}
		return cgroups.Skipped(what, skipErr)
	}
	return nil
}

// subsystem is one v1 controller's part of Set and Stats.
type subsystem struct {
	name   string
	wanted func(r *specs.LinuxResources) bool // r asks something of it
	set    func(dir string, r *specs.LinuxResources) error
	stats  func(dir string, s *cgroups.Stats) error
}

// In runc's order.
var subsystems = []subsystem{
	{name: "cpuset", wanted: cpusetWanted, set: setCpuset, stats: cpusetStats},
	{name: "devices", wanted: func(r *specs.LinuxResources) bool { return len(r.Devices) > 0 }, set: setDevices},
	{name: "memory", wanted: memoryWanted, set: setMemory, stats: memoryStats},
	{name: "cpu", wanted: cpuWanted, set: setCPU, stats: cpuStats},
	{name: "cpuacct", stats: cpuacctStats},
	{name: "pids", wanted: func(r *specs.LinuxResources) bool { return r.Pids != nil && r.Pids.Limit != nil }, set: setPids, stats: pidsStats},
	{name: "blkio", wanted: blkioWanted, set: setBlkio, stats: blkioStats},
	{name: "hugetlb", wanted: func(r *specs.LinuxResources) bool { return len(r.HugepageLimits) > 0 }, set: setHugetlb, stats: hugetlbStats},
	{name: "net_cls", wanted: func(r *specs.LinuxResources) bool { return r.Network != nil && r.Network.ClassID != nil }, set: setNetCls},
	{name: "net_prio", wanted: func(r *specs.LinuxResources) bool { return r.Network != nil && len(r.Network.Priorities) > 0 }, set: setNetPrio},
	{name: "rdma", wanted: func(r *specs.LinuxResources) bool { return len(r.Rdma) > 0 }, set: setRdma},
}

// Set writes r's limits. A limit for a controller that is not mounted (or
// was skipped) is an error, as in runc ("cannot set hugetlb limit").
func (m *Manager) Set(r *specs.LinuxResources) error {
	if r == nil {
		return nil
	}
	if len(r.Unified) > 0 {
		return errors.New("invalid configuration: linux.resources.unified needs cgroup v2; this host uses cgroup v1")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ss := range subsystems {
		if ss.set == nil {
			continue
		}
		// Device rules are not expected to work rootless (runc ignores them).
		if ss.name == "devices" && m.cfg.Rootless {
			continue
		}
		dir := m.paths[ss.name]
		if dir == "" {
			if ss.wanted(r) && m.cfg.Rootless {
				return cgroups.CannotSet(ss.name)
			}
			if ss.wanted(r) {
				return fmt.Errorf("cannot set %s limit: the %s cgroup controller is not mounted (or could not be joined)", ss.name, ss.name)
			}
			continue
		}
		if err := ss.set(dir, r); err != nil {
			return err
		}
	}
	return nil
}

// Freeze stops every process in the cgroup and returns once the kernel
// reports them all FROZEN.
func (m *Manager) Freeze() error {
	dir := m.paths["freezer"]
	if dir == "" {
		return errors.New("cannot pause: the freezer cgroup controller is not mounted")
	}
	return freeze(dir)
}

// freeze writes FROZEN and reads freezer.state until the kernel is done.
// Freezing is normally immediate; while tasks are still FREEZING (e.g. in
// an uninterruptible sleep) this spins (yielding, then with a short
// growing back-off), and re-requests the freeze, for a bounded time.
func freeze(dir string) error {
	if err := writeFile(dir, "freezer.state", string(cgroups.Frozen)); err != nil {
		return err
	}
	delay := 10 * time.Microsecond
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; ; i++ {
		st, err := cgroups.ReadFile(dir, "freezer.state")
		if err != nil {
			return fmt.Errorf("read freezer.state: %w", err)
		}
		switch strings.TrimSpace(st) {
		case string(cgroups.Frozen):
			return nil
		case "FREEZING":
		default: // THAWED: someone thawed it under us; ask again
			if err := writeFile(dir, "freezer.state", string(cgroups.Frozen)); err != nil {
				return err
			}
		}
		if time.Now().After(deadline) {
			writeFile(dir, "freezer.state", string(cgroups.Thawed))
			return fmt.Errorf("freeze %s: processes did not freeze within 5s", dir)
		}
		if i < 100 {
			runtime.Gosched()
			continue
		}
		if i%25 == 0 {
			writeFile(dir, "freezer.state", string(cgroups.Frozen))
		}
		time.Sleep(delay)
		delay = min(delay*2, 10*time.Millisecond)
	}
}

// Thaw resumes the cgroup's processes; v1 thaws at once.
func (m *Manager) Thaw() error {
	dir := m.paths["freezer"]
	if dir == "" {
		return errors.New("cannot resume: the freezer cgroup controller is not mounted")
	}
	if err := writeFile(dir, "freezer.state", string(cgroups.Thawed)); err != nil {
		return err
	}
	st, err := cgroups.ReadFile(dir, "freezer.state")
	if err != nil {
		return fmt.Errorf("read freezer.state: %w", err)
	}
	if s := strings.TrimSpace(st); s != string(cgroups.Thawed) {
		return fmt.Errorf("thaw %s: freezer.state is %s", dir, s)
	}
	return nil
}

// FreezerState is FROZEN only once every process is frozen (FREEZING is
// reported as such); without a freezer the cgroup is THAWED.
func (m *Manager) FreezerState() (cgroups.FreezerState, error) {
	dir := m.paths["freezer"]
	if dir == "" {
		return cgroups.Thawed, nil
	}
	st, err := cgroups.ReadFile(dir, "freezer.state")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return cgroups.Thawed, nil
		}
		return "", fmt.Errorf("read freezer.state: %w", err)
	}
	return cgroups.FreezerState(strings.TrimSpace(st)), nil
}

// pidsDir is a hierarchy to list processes from: any holds them all.
func (m *Manager) pidsDir() string {
	for _, c := range []string{"freezer", "pids", "devices", "memory", "cpu", "cpuacct", "blkio", "cpuset", "name=systemd", ""} {
		if d := m.paths[c]; d != "" {
			return d
		}
	}
	return ""
}

// Pids lists the processes in the cgroup and below.
func (m *Manager) Pids() ([]int, error) {
	dir := m.pidsDir()
	if dir == "" {
		return nil, errors.New("no cgroup to list processes from")
	}
	return cgroups.ReadProcs(dir, true)
}

// Signal sends sig to every process in the cgroup. The cgroup is frozen
// meanwhile (when it has a freezer) so that nothing forks past the list;
// a paused container stays paused, except that SIGKILL thaws it: frozen
// processes do not die until thawed.
func (m *Manager) Signal(sig unix.Signal) error {
	freezer := m.paths["freezer"] != ""
	before := cgroups.Thawed
	if freezer {
		before, _ = m.FreezerState()
		if before != cgroups.Frozen {
			if err := m.Freeze(); err != nil {
				slog.Debug("signal without freezing", "error", err)
				freezer = false
			}
		}
	}
	pids, err := m.Pids()
	if err == nil {
		for _, pid := range pids {
			if kerr := unix.Kill(pid, sig); kerr != nil && !errors.Is(kerr, unix.ESRCH) {
				err = fmt.Errorf("signal %d: %w", pid, kerr)
			}
		}
	}
	if freezer && (before != cgroups.Frozen || sig == unix.SIGKILL) {
		if terr := m.Thaw(); terr != nil && err == nil {
			err = terr
		}
	}
	return err
}

// Stats reads every mounted controller's accounting.
func (m *Manager) Stats() (*cgroups.Stats, error) {
	s := cgroups.NewStats()
	for _, ss := range subsystems {
		dir := m.paths[ss.name]
		if ss.stats == nil || dir == "" {
			continue
		}
		if _, err := os.Stat(dir); err != nil {
			continue
		}
		if err := ss.stats(dir, s); err != nil {
			return nil, fmt.Errorf("%s stats: %w", ss.name, err)
		}
	}
	return s, nil
}

// Destroy kills whatever is left in the cgroup and removes its
// directories (and any cgroups below them), leaf first.
func (m *Manager) Destroy() error {
	if pids, err := m.Pids(); err == nil && len(pids) > 0 {
		m.Signal(unix.SIGKILL)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	done := map[string]bool{}
	for _, name := range m.names() {
		dir := m.paths[name]
		if done[dir] {
			continue
		}
		done[dir] = true
		if err := cgroups.RemovePath(dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Paths returns a copy of the controller → directory map.
func (m *Manager) Paths() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := make(map[string]string, len(m.paths))
	for k, v := range m.paths {
		p[k] = v
	}
	return p
}

// Exists reports whether any of the cgroup's directories is still there.
func (m *Manager) Exists() bool {
	for _, d := range m.paths {
		if _, err := os.Stat(d); err == nil {
			return true
		}
	}
	return false
}

// ensureCpuset creates dir and any missing parents in the cpuset
// hierarchy. A new cpuset cgroup starts with empty cpuset.cpus and
// cpuset.mems, and no task can join it until they are set: each new
// directory gets its parent's values first, then the spec's, if any.
// mkdirAll is os.MkdirAll that tries the mkdir first: a new container's
// cgroup is one directory below one that exists, so one syscall makes it
// where MkdirAll stats the path and its parent first.
func mkdirAll(dir string) error {
	if err := unix.Mkdir(dir, 0o755); err == nil {
		return nil
	}
	return os.MkdirAll(dir, 0o755)
}

func ensureCpuset(dir string, r *specs.LinuxResources) error {
	if err := ensureCpusetDir(dir); err != nil {
		return err
	}
	if r != nil && cpusetWanted(r) {
		return setCpuset(dir, r)
	}
	return nil
}

func ensureCpusetDir(dir string) error {
	parent := filepath.Dir(dir)
	cpus, err := cgroups.ReadFile(dir, "cpuset.cpus")
	switch {
	case err == nil:
		mems, _ := cgroups.ReadFile(dir, "cpuset.mems")
		if strings.TrimSpace(cpus) != "" && strings.TrimSpace(mems) != "" {
			return nil // the hierarchy's root, or a cgroup already set up
		}
		// It exists but was left empty: fill it in, parents first.
	case errors.Is(err, os.ErrNotExist):
		if _, serr := os.Stat(dir); serr == nil {
			return fmt.Errorf("cpuset: %s has no cpuset.cpus", dir)
		}
	default:
		return fmt.Errorf("read cpuset.cpus: %w", err)
	}
	if parent == dir || parent == "/" {
		return fmt.Errorf("cpuset hierarchy not found above %s", dir)
	}
	if err := ensureCpusetDir(parent); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create cgroup %s: %w", dir, err)
	}
	return copyCpusetFromParent(dir)
}

func copyCpusetFromParent(dir string) error {
	parent := filepath.Dir(dir)
	for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
		cur, err := cgroups.ReadFile(dir, f)
		if err != nil {
			return fmt.Errorf("read %s: %w", f, err)
		}
		if strings.TrimSpace(cur) != "" {
			continue
		}
		v, err := cgroups.ReadFile(parent, f)
		if err != nil {
			return fmt.Errorf("read parent's %s: %w", f, err)
		}
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		if err := writeFile(dir, f, v); err != nil {
			return err
		}
	}
	return nil
}

// Persistent: a cgroupfs directory outlives its processes.
func (m *Manager) Persistent() {}
