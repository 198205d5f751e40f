package libcontainer

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/cgroups"
	"github.com/teu-runtime/teu/libcontainer/state"
	"github.com/teu-runtime/teu/libcontainer/system"
)

// errNoCgroup: the container's state names no cgroup (made by an older
// teu, or a create that died before joining one).
var errNoCgroup = errors.New("container has no cgroup")

// cgroupConfig is what the cgroup drivers need of a container's spec. The
// device rules are completed with runc's defaults (cgroups.EffectiveResources).
func cgroupConfig(id string, s *specs.Spec, r Rootless) cgroups.Config {
	cfg := cgroups.Config{ID: id, Rootless: r.cgroups()}
	if s != nil {
		cfg.Annotations = s.Annotations
		if s.Linux != nil {
			cfg.Path = s.Linux.CgroupsPath
			cfg.Resources = cgroups.EffectiveResources(s.Linux)
		}
	}
	return cfg
}

// prepareCgroup resolves the container's cgroup without making anything,
// for create to record its paths (and the parents it will make) before
// applyCgroup makes it.
func (l *launcher) prepareCgroup() error {
	cfg := cgroupConfig(l.c.state.ID, l.spec, l.opts.Rootless)
	cfg.Systemd = l.c.state.SystemdCgroup
	// A scope cannot be left for the set-up (setupOutsideCgroup), nor,
	// mostly, a rootless container's cgroup (the user may not write the
	// cgroup above): their limits wait for the init's "ready".
	cfg.LateLimits = cfg.Systemd || cfg.Rootless
	if !cfg.Systemd {
		// nil if it cannot be read: the driver reads it again and says why.
		cfg.Host, _ = l.hostCgroups()
	}
	mgr, err := cgroups.New(cfg)
	if err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	if err := checkCgroupFree(mgr); err != nil {
		return err
	}
	l.cgroupMgr, l.cgroupCfg = mgr, cfg
	// systemd makes (and removes) the slices above its scopes itself.
	if !cfg.Systemd {
		l.cgroupParents = newParents(mgr.Paths())
	}
	l.cgroupIntent = mgr.Paths()
	l.c.state.CgroupPaths, l.c.state.CgroupParents = l.cgroupIntent, l.cgroupParents
	l.c.state.RootlessCgroups = cfg.Rootless
	return nil
}

// checkCgroupFree refuses a cgroup that exists with processes in it: it
// belongs to someone else (the same id under another --root, or an
// engine's mistake), and joining it would let our delete kill them.
// Checked before it is recorded, so that neither a failed create (or
// restore) nor delete --force destroys it. A frozen one would freeze the
// init (or CRIU) as it joins, and we would wait for it forever: refused
// too, as runc does.
func checkCgroupFree(mgr cgroups.Manager) error {
	if !mgr.Exists() {
		return nil
	}
	dir := mgr.Paths()[pickPath(mgr.Paths())]
	if pids, err := mgr.Pids(); err == nil && len(pids) > 0 {
		return fmt.Errorf("container's cgroup is not empty: %d process(es) in %s", len(pids), dir)
	}
	if st, err := mgr.FreezerState(); err == nil && st == cgroups.Frozen {
		return fmt.Errorf("container's cgroup unexpectedly frozen: %s (thaw or remove it first)", dir)
	}
	return nil
}

// applyCgroup creates the container's cgroup, whose paths create recorded
// before (prepareCgroup), moves pid (the executor) into it and sets the
// limits. It runs when the executor asks, before it creates the cgroup
// namespace, which is then rooted at the container's cgroup.
func (l *launcher) applyCgroup(pid int) error {
	mgr, cfg := l.cgroupMgr, l.cgroupCfg
	l.cgroup = mgr
	skipped := mgr.Apply(pid)
	if skipped != nil && !errors.Is(skipped, cgroups.ErrRootless) {
		return fmt.Errorf("unable to apply cgroup configuration: %w", skipped)
	}
	// What Apply made (it may skip controllers); rootless with nothing
	// delegated: no cgroup at all.
	if cfg.Rootless && !mgr.Exists() {
		l.c.state.CgroupPaths, l.c.state.CgroupParents = nil, nil
	} else {
		l.c.state.CgroupPaths = mgr.Paths()
	}
	// Without a cgroup (rootless, nothing delegated) there is nothing to
	// wait for: Set says now whether a limit was asked for.
	if !cfg.LateLimits || skipped != nil {
		if err := mgr.Set(cfg.Resources); err != nil {
			return fmt.Errorf("set cgroup limits: %w", err)
		}
		l.limitsSet = true
	}
	if skipped != nil {
		// Rootless without delegation, and no limit asked for: said once,
		// here, at create.
		slog.Warn("rootless container runs without cgroup limits: " + skipped.Error())
	}
	return nil
}

// setLateLimits sets the limits Apply left out (cgroups.Config.LateLimits),
// once the init is ready.
func (l *launcher) setLateLimits() error {
	if l.cgroup == nil || l.limitsSet {
		return nil
	}
	if err := l.cgroup.Set(l.cgroupCfg.Resources); err != nil {
		return fmt.Errorf("set cgroup limits: %w", err)
	}
	return nil
}

// setupOutsideCgroup moves the executor (the init, or its parent before it
// forks the init), placed in the container's cgroup so that a new cgroup
// namespace is rooted there, back to our own cgroups for its set-up: the Go runtime, mounts
// and the rest are then charged to the runtime's caller, not to the
// container, whose limits may be far tighter (a 512 KiB memory limit, a
// pids limit of 1). joinCgroupLate puts it back before the user's process
// runs. Not for a driver whose cgroup vanishes when empty (systemd scope);
// if the move fails, the init simply stays.
func (l *launcher) setupOutsideCgroup(pid int) {
	if l.cgroup == nil || len(l.c.state.CgroupPaths) == 0 {
		return
	}
	if _, ok := l.cgroup.(cgroups.Persistent); !ok {
		return
	}
	host, err := l.hostCgroups()
	if err == nil {
		err = cgroups.MoveToOwn(pid, l.c.state.CgroupPaths, host)
	}
	if err != nil {
		slog.Debug("init set-up stays in the container's cgroup", "error", err)
	}
	// Even if only partly moved: joinCgroupLate puts all of it back.
	l.outside = true
}

// hostCgroups is the host's cgroup view (cgroups.ReadHost), read once for
// the resolving of the cgroup, the init's moves and its cgroup mounts.
func (l *launcher) hostCgroups() (*cgroups.Host, error) {
	if l.host == nil {
		h, err := cgroups.ReadHost()
		if err != nil {
			return nil, err
		}
		l.host = h
	}
	return l.host, nil
}

// joinCgroupLate moves the init into the container's cgroup once its
// mounts are done, before the create-time hooks (they may look the cgroup
// up in /proc/<pid>/cgroup).
func (l *launcher) joinCgroupLate() error {
	if !l.outside {
		return nil
	}
	if err := cgroups.MoveInto(l.c.state.InitPid, l.c.state.CgroupPaths); err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	l.outside = false
	return nil
}

// cgroupManager rebuilds the Manager of the container's cgroup from the
// paths in its state. It reads nothing else (Status calls it).
func (c *Container) cgroupManager() (cgroups.Manager, error) {
	if len(c.state.CgroupPaths) == 0 {
		return nil, errNoCgroup
	}
	cfg := cgroups.Config{ID: c.state.ID, Rootless: c.state.RootlessCgroups, Systemd: c.state.SystemdCgroup}
	return cgroups.Load(cfg, c.state.CgroupPaths)
}

// frozen reports whether the container's cgroup is frozen (paused).
func (c *Container) frozen() bool {
	m, err := c.cgroupManager()
	if err != nil {
		return false
	}
	st, err := m.FreezerState()
	return err == nil && st == cgroups.Frozen
}

// destroyCgroup kills what is left in the container's cgroup and removes it.
func (c *Container) destroyCgroup() error {
	m, err := c.cgroupManager()
	if err != nil {
		if errors.Is(err, errNoCgroup) {
			return nil
		}
		return err
	}
	if err := m.Destroy(); err != nil {
		return fmt.Errorf("remove cgroup: %w", err)
	}
	removeParents(c.state.CgroupPaths, c.state.CgroupParents)
	return nil
}

// newParents returns, for each cgroup directory that Apply is about to
// make, the topmost of its ancestors that do not exist yet: what create
// makes above the container's own cgroup (a cgroupsPath like
// "pod/ctr" under a missing "pod"). Ancestors that exist are someone
// else's and are never removed.
func newParents(paths map[string]string) map[string]string {
	out := map[string]string{}
	for k, dir := range paths {
		top := ""
		for p := filepath.Dir(dir); p != "/" && p != "."; p = filepath.Dir(p) {
			if _, err := os.Lstat(p); err == nil {
				break
			}
			top = p
		}
		if top != "" {
			out[k] = top
		}
	}
	return out
}

// removeParents removes the directories between each removed cgroup and
// the topmost one create made for it, nearest first, stopping at the
// first that will not go: rmdir never removes a cgroup with children or
// processes, so a parent another container uses stays (as runc and crun
// leave every parent, teu leaves only those).
func removeParents(paths, parents map[string]string) {
	for k, top := range parents {
		dir, ok := paths[k]
		if !ok || !strings.HasPrefix(dir, top+"/") {
			continue
		}
		for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
			if err := unix.Rmdir(p); err != nil && !errors.Is(err, unix.ENOENT) {
				break
			}
			if p == top {
				break
			}
		}
	}
}

// Pause freezes every process of a running (or created) container.
func (c *Container) Pause() error {
	switch st := c.Status(); st {
	case Running, Created:
	case Paused:
		return fmt.Errorf("container %s is already paused", c.ID())
	default:
		return fmt.Errorf("container %s is not running: %s", c.ID(), st)
	}
	m, err := c.cgroupManager()
	if err != nil {
		return err
	}
	return m.Freeze()
}

// Resume thaws a paused container.
func (c *Container) Resume() error {
	if st := c.Status(); st != Paused {
		return fmt.Errorf("container %s is not paused: %s", c.ID(), st)
	}
	m, err := c.cgroupManager()
	if err != nil {
		return err
	}
	return m.Thaw()
}

// Processes lists the host pids of every process in the container's cgroup.
func (c *Container) Processes() ([]int, error) {
	m, err := c.cgroupManager()
	if err != nil {
		return nil, err
	}
	return m.Pids()
}

// Stats is a snapshot of the container's cgroup accounting.
func (c *Container) Stats() (*cgroups.Stats, error) {
	m, err := c.cgroupManager()
	if errors.Is(err, errNoCgroup) && c.state.RootlessCgroups {
		// A rootless container that runs without a cgroup (none
		// delegated; create said so): empty stats, as runc's.
		return cgroups.NewStats(), nil
	}
	if err != nil {
		return nil, err
	}
	return m.Stats()
}

// OOMEvents reports the container's OOM kills until stop is closed or the
// cgroup goes; nil (no error) where the driver cannot report them.
func (c *Container) OOMEvents(stop <-chan struct{}) (<-chan struct{}, error) {
	m, err := c.cgroupManager()
	if err != nil {
		return nil, err
	}
	n, ok := m.(cgroups.OOMNotifier)
	if !ok {
		return nil, nil
	}
	return n.OOMEvents(stop)
}

// Update applies new resource limits to a container that has not stopped
// and records them in its saved config. Fields r leaves nil (or zero, as
// runc's update) are left as they are. Device rules in r replace the
// container's (completed with the defaults, as at create).
func (c *Container) Update(r *specs.LinuxResources) error {
	if st := c.Status(); st == Stopped {
		return fmt.Errorf("container %s is not running", c.ID())
	}
	m, err := c.cgroupManager()
	if err != nil {
		return err
	}
	spec, err := c.Config()
	if err != nil {
		return err
	}
	if spec.Linux == nil {
		spec.Linux = &specs.Linux{}
	}
	if spec.Linux.Resources == nil {
		spec.Linux.Resources = &specs.LinuxResources{}
	}
	upd := *r
	if mem, saved := upd.Memory, spec.Linux.Resources.Memory; mem != nil && mem.Limit != nil && *mem.Limit > 0 &&
		mem.Swap == nil && saved != nil && saved.Swap != nil && *saved.Swap != 0 {
		// A new memory limit alone keeps memory+swap where it was, as on
		// v1 (where memsw is its own file): v2's swap-only limit follows.
		m2 := *mem
		m2.Swap = saved.Swap
		upd.Memory = &m2
	}
	if cpu, saved := upd.CPU, spec.Linux.Resources.CPU; cpu != nil && saved != nil && (cpu.Quota == nil) != (cpu.Period == nil) {
		// A new period alone keeps the quota, and a quota the period, as
		// runc's update (which sends the whole saved set): systemd's
		// CPUQuotaPerSecUSec is made of both.
		c2 := *cpu
		if c2.Quota == nil {
			c2.Quota = saved.Quota
		} else {
			c2.Period = saved.Period
		}
		upd.CPU = &c2
	}
	if len(r.Devices) > 0 {
		l := *spec.Linux
		res := *spec.Linux.Resources
		res.Devices = r.Devices
		l.Resources = &res
		upd.Devices = cgroups.EffectiveResources(&l).Devices
	}
	if err := m.Set(&upd); err != nil {
		return err
	}
	upd.Devices = r.Devices
	MergeResources(spec.Linux.Resources, &upd)
	if c.dir == nil {
		return errors.New("update needs the container locked (Load, not LoadState)")
	}
	return c.dir.WriteJSON(state.ConfigFile, spec)
}

// MergeResources copies into dst every field upd sets.
func MergeResources(dst, upd *specs.LinuxResources) {
	if m := upd.Memory; m != nil {
		if dst.Memory == nil {
			dst.Memory = &specs.LinuxMemory{}
		}
		d := dst.Memory
		setI64(&d.Limit, m.Limit)
		setI64(&d.Reservation, m.Reservation)
		setI64(&d.Swap, m.Swap)
		setI64(&d.Kernel, m.Kernel)
		setI64(&d.KernelTCP, m.KernelTCP)
		if m.Swappiness != nil {
			d.Swappiness = m.Swappiness
		}
		if m.DisableOOMKiller != nil {
			d.DisableOOMKiller = m.DisableOOMKiller
		}
	}
	if cp := upd.CPU; cp != nil {
		if dst.CPU == nil {
			dst.CPU = &specs.LinuxCPU{}
		}
		d := dst.CPU
		setU64(&d.Shares, cp.Shares)
		setI64(&d.Quota, cp.Quota)
		setU64(&d.Period, cp.Period)
		if cp.Burst != nil { // 0 is a value: no burst
			d.Burst = cp.Burst
		}
		setI64(&d.RealtimeRuntime, cp.RealtimeRuntime)
		setU64(&d.RealtimePeriod, cp.RealtimePeriod)
		if cp.Idle != nil {
			d.Idle = cp.Idle
		}
		if cp.Cpus != "" {
			d.Cpus = cp.Cpus
		}
		if cp.Mems != "" {
			d.Mems = cp.Mems
		}
	}
	if p := upd.Pids; p != nil && p.Limit != nil && *p.Limit != 0 {
		dst.Pids = &specs.LinuxPids{Limit: p.Limit}
	}
	if b := upd.BlockIO; b != nil {
		if dst.BlockIO == nil {
			dst.BlockIO = &specs.LinuxBlockIO{}
		}
		d := dst.BlockIO
		if b.Weight != nil && *b.Weight != 0 {
			d.Weight = b.Weight
		}
		if b.LeafWeight != nil && *b.LeafWeight != 0 {
			d.LeafWeight = b.LeafWeight
		}
		if len(b.WeightDevice) > 0 {
			d.WeightDevice = b.WeightDevice
		}
		if len(b.ThrottleReadBpsDevice) > 0 {
			d.ThrottleReadBpsDevice = b.ThrottleReadBpsDevice
		}
		if len(b.ThrottleWriteBpsDevice) > 0 {
			d.ThrottleWriteBpsDevice = b.ThrottleWriteBpsDevice
		}
		if len(b.ThrottleReadIOPSDevice) > 0 {
			d.ThrottleReadIOPSDevice = b.ThrottleReadIOPSDevice
		}
		if len(b.ThrottleWriteIOPSDevice) > 0 {
			d.ThrottleWriteIOPSDevice = b.ThrottleWriteIOPSDevice
		}
	}
	if len(upd.HugepageLimits) > 0 {
		dst.HugepageLimits = upd.HugepageLimits
	}
	if upd.Network != nil {
		dst.Network = upd.Network
	}
	if len(upd.Rdma) > 0 {
		dst.Rdma = upd.Rdma
	}
	if len(upd.Devices) > 0 {
		dst.Devices = upd.Devices
	}
	if len(upd.Unified) > 0 {
		if dst.Unified == nil {
			dst.Unified = map[string]string{}
		}
		for k, v := range upd.Unified {
			dst.Unified[k] = v
		}
	}
}

func setI64(dst **int64, v *int64) {
	if v != nil && *v != 0 {
		*dst = v
	}
}

func setU64(dst **uint64, v *uint64) {
	if v != nil && *v != 0 {
		*dst = v
	}
}

// Exited is closed when the container's init exits (or stop is closed);
// it waits on a pidfd, nothing polls.
func (c *Container) Exited(stop <-chan struct{}) (<-chan struct{}, error) {
	fd, err := system.PidFD(c.state.InitPid, c.state.InitStartTime)
	if err != nil {
		return nil, errors.New("container not running")
	}
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		defer unix.Close(fd)
		// A second fd to wake the poll when stop is closed.
		efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
		if err != nil {
			return
		}
		done, wakerDone := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(wakerDone)
			select {
			case <-stop:
				unix.Write(efd, []byte{1, 0, 0, 0, 0, 0, 0, 0})
			case <-done:
			}
		}()
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(efd), Events: unix.POLLIN}}
		system.Retry(func() error { _, err := unix.Poll(fds, -1); return err })
		close(done)
		<-wakerDone
		unix.Close(efd)
	}()
	return ch, nil
}

// pickPath names one hierarchy of paths for messages: the unified one, or
// else memory, or else any.
func pickPath(paths map[string]string) string {
	for _, k := range []string{"", "memory"} {
		if _, ok := paths[k]; ok {
			return k
		}
	}
	for k := range paths {
		return k
	}
	return ""
}
