package libcontainer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/affinity"
	"github.com/teu-runtime/teu/libcontainer/cgroups"
	"github.com/teu-runtime/teu/libcontainer/hooks"
	"github.com/teu-runtime/teu/libcontainer/hostmnt"
	"github.com/teu-runtime/teu/libcontainer/initplan"
	"github.com/teu-runtime/teu/libcontainer/lookup"
	"github.com/teu-runtime/teu/libcontainer/netdev"
	"github.com/teu-runtime/teu/libcontainer/plan"
	"github.com/teu-runtime/teu/libcontainer/rootfs"
	"github.com/teu-runtime/teu/libcontainer/state"
	"github.com/teu-runtime/teu/libcontainer/system"
	"github.com/teu-runtime/teu/libcontainer/validate"
	"github.com/teu-runtime/teu/nsenter"
)

// CreateOpts are the inputs of create (and run).
type CreateOpts struct {
	ID     string
	Bundle string // absolute path of the bundle
	Spec   *specs.Spec
	// SpecJSON, if set, is the config.json Spec was decoded from, stored
	// as it is (encoding the spec anew costs more than the rest of saving).
	SpecJSON      json.RawMessage
	ConsoleSocket string   // path of the engine's console socket
	ConsoleConn   *os.File // or an already-connected socket (run with a tty)
	PidfdSocket   string   // path of a socket to send a pidfd of the init to
	PidFile       string
	NoPivot       bool
	NoNewKeyring  bool
	PreserveFds   int
	// SystemdCgroup: the cgroup is a systemd scope (--systemd-cgroup).
	SystemdCgroup bool
	Rootless      Rootless // --rootless
	Stdin         *os.File
	Stdout        *os.File
	Stderr        *os.File
	// Trace, if set, receives the duration of each phase of create.
	Trace func(phase string, d time.Duration)
}

// Create makes a container whose init waits on exec.fifo for start.
func Create(root string, o *CreateOpts) (c *Container, retErr error) {
	trace := o.Trace
	if trace == nil {
		trace = func(string, time.Duration) {}
	}
	t0 := time.Now()
	if err := state.ValidateID(o.ID); err != nil {
		return nil, err
	}
	s := o.Spec
	if err := validate.Spec(s, o.Bundle); err != nil {
		return nil, fmt.Errorf("create %s: %w", o.ID, err)
	}
	if err := checkHost(s); err != nil {
		return nil, fmt.Errorf("create %s: %w", o.ID, err)
	}
	if err := hostmnt.Check(s, o.NoPivot); err != nil {
		return nil, fmt.Errorf("create %s: %w", o.ID, err)
	}
	// The seccomp filter is compiled here, once: the init only loads it,
	// with no libseccomp work under the container's rlimits.
	bpf, err := compileSeccomp(s)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", o.ID, err)
	}
	if s.Process.Terminal && o.ConsoleSocket == "" && o.ConsoleConn == nil {
		return nil, fmt.Errorf("create %s: process.terminal needs --console-socket when teu does not stay attached", o.ID)
	}
	if !s.Process.Terminal && (o.ConsoleSocket != "" || o.ConsoleConn != nil) {
		return nil, fmt.Errorf("create %s: --console-socket given but process.terminal is false", o.ID)
	}
	rootfs := s.Root.Path
	if !filepath.IsAbs(rootfs) {
		rootfs = filepath.Join(o.Bundle, rootfs)
	}
	if r, err := filepath.EvalSymlinks(rootfs); err == nil {
		rootfs = r
	}

	faults, err := newFaults(FaultEnv)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", o.ID, err)
	}
	d, err := state.New(root, o.ID)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", o.ID, err)
	}
	c = &Container{root: root, dir: d, state: state.State{
		Version: state.Version, ID: o.ID, Bundle: o.Bundle, Rootfs: rootfs, Created: time.Now().UTC(),
		Owner: ownerName(), Annotations: s.Annotations, Creating: true, NoNewKeyring: o.NoNewKeyring,
		Resources: state.Resources{SystemdCgroup: o.SystemdCgroup},
	}}
	l := &launcher{c: c, opts: o, spec: lsmForHost(s), seccompBPF: bpf, fault: faults}
	pidFileWritten := false
	defer func() {
		if retErr != nil {
			l.abort()
			d.Remove()
			if pidFileWritten {
				os.Remove(o.PidFile)
			}
			retErr = fmt.Errorf("create %s: %w", o.ID, retErr)
		}
	}()
	l.fault.step("state dir made")
	trace("prepare", time.Since(t0))
	if err := l.start(); err != nil {
		return nil, err
	}
	if o.PidFile != "" {
		if err := state.WriteFileAtomic(o.PidFile, []byte(strconv.Itoa(c.state.InitPid))); err != nil {
			return nil, fmt.Errorf("write pid file: %w", err)
		}
		pidFileWritten = true
		l.fault.step("pid file written")
	}
	// The executor is gone (start released it).
	c.state.Creating = false
	c.state.ExecPid, c.state.ExecStartTime = 0, 0
	if err := d.WriteJSON(state.File, &c.state); err != nil {
		return nil, fmt.Errorf("save state: %w", err)
	}
	l.fault.step("state saved")
	// What start needs of the stored spec is what was just stored: `run`
	// need not read it back (hooksAndNamespaces).
	c.hooksSpec = &specs.Spec{Hooks: s.Hooks, Linux: &specs.Linux{}}
	if s.Linux != nil {
		c.hooksSpec.Linux.Namespaces = s.Linux.Namespaces
	}
	return c, nil
}

func ownerName() string {
	if u, err := user.LookupId(strconv.Itoa(os.Getuid())); err == nil {
		return u.Username
	}
	return ""
}

type launcher struct {
	c    *Container
	opts *CreateOpts
	spec *specs.Spec // as the init gets it (lsmForHost)
	sp   *spawn
	// cgroup is the container's cgroup once applyCgroup made it;
	// cgroupMgr and cgroupCfg are the same from prepareCgroup on.
	cgroup    cgroups.Manager
	cgroupMgr cgroups.Manager
	cgroupCfg cgroups.Config
	// cgroupParents: the directories create makes above it (newParents).
	cgroupParents map[string]string
	// cgroupIntent: the paths of the cgroup create makes, as resolved
	// before Apply (which may skip some after making their directory).
	cgroupIntent map[string]string
	// fault is the fault-injection hook (fault.go).
	fault *faults
	// seccompBPF is the compiled linux.seccomp, if any.
	seccompBPF []byte
	// mountsBefore: the mounts under the rootfs before the init ran, when
	// it shares the runtime's mount namespace (package hostmnt).
	mountsBefore map[int]bool
	// outside: the init does its set-up outside the container's cgroup.
	outside bool
	// limitsSet: the cgroup limits are set (applyCgroup, or late: setLateLimits).
	limitsSet bool
	// cgroupTime: how long making the cgroup and moving took (--trace).
	cgroupTime time.Duration
	// host: the host's cgroup view, read once (hostCgroups).
	host *cgroups.Host
	// slots of the plan, and what the init part needs of the host
	fifoSlot, consoleSlot int
	treeFds               map[int]int  // mount index → child fd of its prepared tree
	treesLater            map[int]bool // mounts the init clones, the parent idmaps
	trees                 *mountTrees
	procSlot              int
	rootfs                *rootfs.Compiler
	preserve              int
	extraEnv              []string
	userns                bool
	setgroupsDenied       bool
}

// abort kills whatever the failed create started.
func (l *launcher) abort() {
	if l.sp != nil && l.sp.cmd != nil && l.sp.cmd.Process != nil && l.sp.cmd.ProcessState == nil {
		l.sp.cmd.Process.Kill()
		l.sp.cmd.Wait()
	}
	if l.c.state.InitPid > 0 {
		if fd, err := system.PidFD(l.c.state.InitPid, l.c.state.InitStartTime); err == nil {
			unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
			system.WaitPidFD(fd)
			unix.Close(fd)
		}
	}
	if l.mountsBefore != nil {
		ids, err := hostmnt.NewUnder(l.c.state.Rootfs, l.mountsBefore)
		if err == nil {
			err = hostmnt.Unmount(l.c.state.Rootfs, ids)
		}
		if err != nil {
			slog.Warn("unmount mounts of failed create", "id", l.c.state.ID, "error", err)
		}
	}
	if l.cgroup != nil {
		if err := l.cgroup.Destroy(); err != nil {
			slog.Warn("remove cgroup of failed create", "id", l.c.state.ID, "error", err)
		} else {
			removeParents(l.cgroup.Paths(), l.cgroupParents)
		}
	}
}

func (l *launcher) start() error {
	o, s, d := l.opts, l.spec, l.c.dir
	trace := o.Trace
	if trace == nil {
		trace = func(string, time.Duration) {}
	}
	t0 := time.Now()
	fifo := d.File(state.FifoFile)
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		return fmt.Errorf("make exec fifo: %w", err)
	}
	// The init reopens it through its O_PATH fd after switching to the
	// process's user (maybe in a user namespace): anyone may write it.
	// Only that fd reaches it; the state directory is closed to others.
	if err := os.Chmod(fifo, 0o622); err != nil { //nolint:forbidigo // in the state dir
		return fmt.Errorf("make exec fifo: %w", err)
	}
	fifoFd, err := os.OpenFile(fifo, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open exec fifo: %w", err)
	}
	defer fifoFd.Close()

	// Child fds: 3.. preserved fds, then ours.
	l.preserve = o.PreserveFds
	if n := listenFds(); n > 0 {
		l.preserve += n
		l.extraEnv = append(l.extraEnv, "LISTEN_FDS="+strconv.Itoa(n), "LISTEN_PID=1")
	}
	if l.preserve < 0 || l.preserve > maxPreserveFds {
		return fmt.Errorf("cannot preserve %d fds: at most %d", l.preserve, maxPreserveFds)
	}
	var preserved []*os.File
	for i := 0; i < l.preserve; i++ {
		preserved = append(preserved, inheritedFile(3+i))
	}
	sp, err := newSpawn(preserved)
	if err != nil {
		return err
	}
	l.sp = sp
	sp.b.Grow(200 + 4*len(l.spec.Mounts)) // a container's plan: ~220 steps for runc's default mounts
	defer sp.close()
	exe, err := sealedSelf()
	if err != nil {
		return err
	}
	defer exe.Close()

	var console *os.File
	if o.ConsoleConn != nil {
		console = o.ConsoleConn
	} else if o.ConsoleSocket != "" {
		console, err = dialConsole(o.ConsoleSocket)
		if err != nil {
			return err
		}
		defer console.Close()
	}
	var pidfdSock *os.File
	if o.PidfdSocket != "" {
		if pidfdSock, err = dialUnix(o.PidfdSocket, "pidfd socket"); err != nil {
			return err
		}
		defer pidfdSock.Close()
	}
	// Every fd the init gets is taken into the plan first: that makes it
	// close-on-exec there.
	b := &sp.b
	l.fifoSlot = sp.adopt(sp.fd(fifoFd), "exec.fifo")
	l.consoleSlot = -1
	if console != nil {
		l.consoleSlot = sp.adopt(sp.fd(console), "the console socket")
	}
	l.trees = &mountTrees{s: s, bundle: o.Bundle, rootfs: l.c.state.Rootfs}
	defer l.trees.close()
	made, later, err := l.trees.plan()
	if err != nil {
		return err
	}
	l.treesLater = later
	for i, t := range made {
		defer t.Close()
		if l.treeFds == nil {
			l.treeFds = map[int]int{}
		}
		l.treeFds[i] = sp.fd(t)
	}
	boot, err := l.bootOpts()
	if err != nil {
		return err
	}
	l.chooseNoFork(boot)
	// An unprivileged parent denies setgroups to write a gid map of its
	// own gid (rootless.go).
	l.setgroupsDenied = hasNewNs(s, specs.UserNamespace) && os.Geteuid() != 0 && ownIDOnly(s.Linux.GIDMappings, os.Getegid())
	initplan.Boot(b, boot)
	// What create will make on the host is known now, and recorded below
	// before any of it is made: the cgroup's paths, and the mounts an init
	// that shares our mount namespace makes under the rootfs (package hostmnt).
	if err := l.prepareCgroup(); err != nil {
		return err
	}
	if hostmnt.Inherits(s) {
		if l.mountsBefore, err = hostmnt.IDsUnder(l.c.state.Rootfs); err != nil {
			return err
		}
		l.c.state.MountsPending = true
		l.c.state.MountsBefore = sortedIDs(l.mountsBefore)
	}
	// Where the executor forks the init, the init becomes ours when the
	// executor exits, so that a death during setup can be told (initDeath).
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	if o.Trace != nil || debugging() {
		sp.Timings = l.traceSteps
	}
	if err := sp.start(exe, o.Stdin, o.Stdout, o.Stderr); err != nil {
		return err
	}
	execPid := sp.cmd.Process.Pid
	st, err := system.StartTime(execPid)
	if err != nil {
		return fmt.Errorf("container init %d vanished: %w", execPid, err)
	}
	l.c.state.ExecPid, l.c.state.ExecStartTime = execPid, st
	l.fault.step("init started")
	trace("exec init", time.Since(t0))
	t0 = time.Now()
	if err := affinity.Initial(sp.cmd.Process.Pid, ""); err != nil {
		return err
	}
	if err := sp.send(); err != nil {
		return err
	}
	// The config, the state and the records go to disk while the executor
	// makes the namespaces: it makes nothing that outlives it before it asks
	// for the cgroup, which waits for them. (Until then, should we die, it
	// dies at its next read of the sync socket.)
	var config any = o.Spec
	if o.SpecJSON != nil {
		config = o.SpecJSON
	}
	for _, f := range []state.JSONFile{
		{Name: state.ConfigFile, Value: config},
		{Name: state.File, Value: &l.c.state},
		{Name: state.ResourcesFile, Value: l.records()},
	} {
		if err := d.Put(f); err != nil {
			return err
		}
		l.fault.step(f.Name + " written")
	}
	trace("save state", time.Since(t0))
	t0 = time.Now()
	initIs := func(pid int) error {
		// (The phrases are runc's debug lines for the same points.)
		slog.Debug("nsexec container setup done: namespaces joined and made", "pid", pid)
		slog.Debug("child process in init(): the container's init runs the plan", "pid", pid)
		if err := l.forked(pid); err != nil {
			return err
		}
		// The cgroup is made while the executor waits, in the middle
		// of the namespaces: its time is told apart.
		trace("cgroup", l.cgroupTime)
		trace("namespaces", time.Since(t0)-l.cgroupTime)
		t0 = time.Now()
		return nil
	}
	err = sp.run(func(m plan.Msg, fd int) error {
		if fd >= 0 {
			defer unix.Close(fd)
		}
		switch {
		case m.Type == plan.MsgPid: // the executor forked the init
			return initIs(int(m.A))
		case m.Type == plan.MsgSync && m.A == plan.TagInit: // the executor is the init
			sp.Pid = sp.cmd.Process.Pid
			return initIs(sp.Pid)
		case m.Type == plan.MsgSync && m.A == plan.TagUserns:
			if err := writeIDMaps(sp.cmd.Process.Pid, l.spec.Linux); err != nil {
				return err
			}
			l.fault.step("id maps written")
			return nil
		case m.Type == plan.MsgSync && m.A == plan.TagCgroupIn:
			t := time.Now()
			err := l.applyCgroup(sp.cmd.Process.Pid)
			l.cgroupTime += time.Since(t)
			if err == nil {
				l.fault.step("cgroup made")
			}
			return err
		case m.Type == plan.MsgSync && m.A == plan.TagCgroupOut:
			t := time.Now()
			l.setupOutsideCgroup(sp.cmd.Process.Pid)
			l.cgroupTime += time.Since(t)
			l.fault.step("init set up outside the cgroup")
			return nil
		case m.Type == plan.MsgSync && m.A == plan.TagHooks:
			trace("init setup", time.Since(t0))
			t0 = time.Now()
			err := l.createHooks()
			trace("hooks", time.Since(t0))
			t0 = time.Now()
			if err == nil {
				l.fault.step("create hooks run")
			}
			return err
		case m.Type == plan.MsgFd && m.A == plan.TagRoot:
			if err := l.processPart(fd); err != nil {
				return err
			}
			sp.queue()
			l.fault.step("process part compiled")
			return nil
		case m.Type == plan.MsgFd && m.A >= plan.TagTree:
			return l.trees.finish(int(m.A)-plan.TagTree, fd)
		case m.Type == plan.MsgFd && m.A == plan.TagSeccomp:
			st := l.c.OCIState()
			st.Status = specs.StateCreating
			if err := forwardSeccomp(fd, l.spec.Linux.Seccomp, st, l.c.state.InitPid); err != nil {
				return err
			}
			l.fault.step("seccomp listener forwarded")
			return nil
		case m.Type == plan.MsgSync && m.A == plan.TagReady:
			slog.Debug("init: closing the pipe to signal completion; it waits on exec.fifo")
			if err := l.setLateLimits(); err != nil {
				return err
			}
			l.fault.step("init ready")
			return errDone
		}
		return fmt.Errorf("unexpected message %d/%d from init", m.Type, m.A)
	})
	if errors.Is(err, io.EOF) {
		if l.c.state.InitPid == 0 {
			how := ""
			sp.cmd.Wait()
			if ps := sp.cmd.ProcessState; ps != nil {
				ws, _ := ps.Sys().(syscall.WaitStatus)
				how = l.describeDeath(unix.WaitStatus(ws))
			}
			return errors.New("container init exited during namespace setup" + how)
		}
		return errors.New("container init exited during setup" + l.initDeath())
	}
	if err != nil {
		return err
	}
	if l.mountsBefore != nil {
		if l.c.state.HostMounts, err = hostmnt.NewUnder(l.c.state.Rootfs, l.mountsBefore); err != nil {
			return err
		}
		l.c.state.MountsPending, l.c.state.MountsBefore = false, nil
		if err := d.WriteJSON(state.ResourcesFile, l.records()); err != nil {
			return err
		}
		l.fault.step("host mounts recorded")
	}
	trace("finish", time.Since(t0))
	if pidfdSock != nil {
		return l.sendInitPidfd(pidfdSock)
	}
	return nil
}

// traceSteps reports the executor's step times by phase, and logs each
// step at debug level.
func (l *launcher) traceSteps(first int, us []uint32) {
	logSteps(&l.sp.b, "init", first, us)
	traceSteps(&l.sp.b, first, us, l.opts.Trace)
}

// traceSteps reports the executor's step times to trace (if set), summed
// by phase: "init mounts", "init pivot", ...
func traceSteps(b *plan.Builder, first int, us []uint32, trace func(string, time.Duration)) {
	if trace == nil {
		return
	}
	var last string
	var sum time.Duration
	for i, u := range us {
		st := b.Step(first + i)
		if st == nil || u == plan.Skipped || st.Phase == "" {
			continue
		}
		if st.Phase != last {
			if last != "" {
				trace("init "+last, sum)
			}
			last, sum = st.Phase, 0
		}
		sum += time.Duration(u) * time.Microsecond
	}
	if last != "" {
		trace("init "+last, sum)
	}
}

// debugging reports whether debug lines are logged (--debug): the
// executor's steps are then reported and logged.
func debugging() bool { return slog.Default().Enabled(context.Background(), slog.LevelDebug) }

// logSteps logs each step the executor ran, with its time, at debug level.
func logSteps(b *plan.Builder, who string, first int, us []uint32) {
	if !debugging() {
		return
	}
	for i, u := range us {
		s := b.Step(first + i)
		if s == nil || u == plan.Skipped {
			continue
		}
		slog.Debug(who+": "+s.Desc, "step", first+i, "op", s.Op.String(), "us", u)
	}
}

// bootOpts is the namespaces part of the container's plan.
func (l *launcher) bootOpts() (*initplan.BootOpts, error) {
	s, sp := l.spec, l.sp
	o := &initplan.BootOpts{OOMScoreAdj: s.Process.OOMScoreAdj, CgroupSync: true, RootSlot: -1}
	var userFile *os.File
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, ns := range s.Linux.Namespaces {
		flag := validate.NamespaceFlags[ns.Type]
		if ns.Path == "" {
			o.Clone |= flag
			continue
		}
		f, err := os.Open(ns.Path)
		if err != nil {
			return nil, fmt.Errorf("open %s namespace %s: %w", ns.Type, ns.Path, err)
		}
		files = append(files, f)
		if flag == unix.CLONE_NEWUSER {
			userFile = f
		}
		o.Joins = append(o.Joins, initplan.NsJoin{Slot: sp.adopt(sp.fd(f), string(ns.Type)+" namespace "+ns.Path), Type: flag})
	}
	markOwned(o.Joins, files, userFile)
	var sb strings.Builder
	for _, clock := range []string{"monotonic", "boottime"} {
		if off, ok := s.Linux.TimeOffsets[clock]; ok {
			fmt.Fprintf(&sb, "%s %d %d\n", clock, off.Secs, off.Nanosecs)
		}
	}
	o.Timens = sb.String()
	l.userns = hasNs(s, specs.UserNamespace)
	// The files stay open until the child has them.
	sp.keep = append(sp.keep, files...)
	files = nil
	return o, nil
}

// chooseNoFork makes the executor the init itself where nothing needs it
// to fork (initplan.NoFork): the spawn then makes the new pid namespace,
// and no intermediate process is made, reported, killed and reaped.
func (l *launcher) chooseNoFork(boot *initplan.BootOpts) {
	if !initplan.NoFork(boot) {
		return
	}
	boot.NoFork, l.sp.NoFork = true, true
	if boot.Clone&unix.CLONE_NEWPID != 0 {
		l.sp.Cloneflags = unix.CLONE_NEWPID
	}
}

// markOwned marks the joins whose namespace the joined user namespace
// owns (NS_GET_USERNS): they are joined after it. Without the ioctl, all
// are joined before it.
func markOwned(joins []initplan.NsJoin, files []*os.File, user *os.File) {
	if user == nil {
		return
	}
	var ust unix.Stat_t
	if unix.Fstat(int(user.Fd()), &ust) != nil {
		return
	}
	for i := range joins {
		if joins[i].Type == unix.CLONE_NEWUSER {
			continue
		}
		owner, err := unix.IoctlRetInt(int(files[i].Fd()), unix.NS_GET_USERNS)
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Fstat(owner, &st) == nil && st.Dev == ust.Dev && st.Ino == ust.Ino {
			joins[i].OwnedByUser = true
		}
		unix.Close(owner)
	}
}

func hasNs(s *specs.Spec, t specs.LinuxNamespaceType) bool {
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == t {
			return true
		}
	}
	return false
}

func hasNewNs(s *specs.Spec, t specs.LinuxNamespaceType) bool {
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == t {
			return ns.Path == ""
		}
	}
	return false
}

// forked: the init runs (pid, host view) and waits for the part that sets
// the container up, compiled now that hooks can be told its pid. The
// executor waits for the init until released (fork_step), so the pid is
// the init's for sure, and a create killed before it is recorded leaves
// the executor to tell when the init is gone.
func (l *launcher) forked(pid int) error {
	st, err := system.StartTime(pid)
	if err != nil {
		return fmt.Errorf("container init %d vanished: %w", pid, err)
	}
	l.c.state.InitPid, l.c.state.InitStartTime = pid, st
	l.fault.step("init forked")
	// The devices are in place before the init sets anything up.
	if err := netdev.Move(pid, l.spec.Linux.NetDevices); err != nil {
		return err
	}
	if err := l.setupPart(); err != nil {
		return err
	}
	if l.sp.NoFork {
		// It waits at its TagInit sync, then reads the part: answered
		// first, so that a part bigger than the pipe cannot block us.
		if err := l.sp.reply(); err != nil {
			return err
		}
	}
	if err := l.sp.send(); err != nil {
		return err
	}
	l.fault.step("setup part sent")
	// Recorded while the init sets up; only then may the executor go.
	if err := l.c.dir.WriteJSON(state.ResourcesFile, l.records()); err != nil {
		return err
	}
	l.fault.step("init recorded")
	l.sp.release()
	l.fault.step("executor released")
	return nil
}

// records is resources.json as create writes it: with the cgroup paths
// it meant to make, of which Apply may have skipped some after making
// their directory (rootless; the cgroup2 placement on a hybrid host).
func (l *launcher) records() *state.Records {
	r := l.c.records()
	if l.cgroupIntent != nil {
		r.CgroupPaths, r.CgroupParents = l.cgroupIntent, l.cgroupParents
	}
	return r
}

func sortedIDs(m map[int]bool) []int {
	ids := make([]int, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	return ids
}

// hookState is the state create-time hooks are told: runtime-tools
// expects "created" (its hooks_stdin program; runc says "creating").
func (l *launcher) hookState() []byte {
	st := l.c.OCIState()
	st.Status = specs.StateCreated
	return initplan.StateJSON(&st)
}

// setupPart compiles the init's set-up: session, keyring, network, the
// rootfs, the createContainer hooks, pivot_root, terminal, hostname,
// sysctls and the rest of the rootfs, up to handing its root to us.
func (l *launcher) setupPart() error {
	s, o, b := l.spec, l.opts, &l.sp.b
	b.Phase("session")
	// runc makes every container process a session leader.
	b.Add("setsid", plan.OpSetsid)
	l.procSlot = b.Slot()
	b.Add("open a procfs of our own", plan.OpProcfs, plan.Int(int64(l.procSlot)))
	if !o.NoNewKeyring {
		initplan.Keyring(b, o.ID, s.Process.SelinuxLabel, l.procSlot)
	}
	if hasNewNs(s, specs.NetworkNamespace) {
		// A new network namespace has lo down: localhost must work, as
		// with runc and crun.
		b.Add("bring lo up", plan.OpIfUp, plan.Str("lo"))
	}
	b.Add("set umask", plan.OpUmask, plan.Int(0o022))
	rc, err := l.rootfsConfig()
	if err != nil {
		return err
	}
	l.rootfs = rootfs.NewCompiler(b, rc, rootfs.OSHost{})
	b.Phase("mounts")
	if err := l.rootfs.Prepare(); err != nil {
		return err
	}
	if o.Trace != nil || debugging() {
		b.Add("timings", plan.OpTimings)
	}
	b.Phase("")
	// prestart and createRuntime hooks run in the parent, now.
	b.Add("hooks", plan.OpSync, plan.Int(plan.TagHooks))
	b.Phase("hooks")
	if s.Hooks != nil {
		state := l.hookState()
		for i, h := range s.Hooks.CreateContainer {
			// As runc: the container's rootfs is the hook's cwd, and
			// without an env of its own it gets the runtime's.
			initplan.Hook(b, fmt.Sprintf("error running createContainer hook #%d: %s", i, h.Path), &h, l.c.state.Rootfs, state, os.Environ())
		}
	}
	b.Phase("pivot")
	l.rootfs.Pivot()
	if err := l.rootfs.CreateCwd(s.Process.Cwd); err != nil {
		return err
	}
	b.Phase("console")
	if s.Process.Terminal {
		if l.consoleSlot < 0 {
			return errors.New("process.terminal needs a console socket")
		}
		rows, cols := 0, 0
		if cs := s.Process.ConsoleSize; cs != nil {
			rows, cols = int(cs.Height), int(cs.Width)
		}
		b.Add("set up the console", plan.OpConsole, plan.Int(int64(l.consoleSlot)), plan.Int(int64(rows)), plan.Int(int64(cols)), plan.Int(1)).Codes =
			map[int]string{plan.ErrSymlink: "/dev/console is a symlink; refusing to bind the console onto its target"}
		b.Close(l.consoleSlot)
	}
	b.Phase("hostname+sysctl")
	if s.Hostname != "" {
		b.Add("set hostname", plan.OpHostname, plan.Str(s.Hostname))
	}
	if s.Domainname != "" {
		b.Add("set domainname", plan.OpDomainname, plan.Str(s.Domainname))
	}
	// sysctls through our own verified procfs: never a symlink, a magic
	// link or another mount on the way (CVE-2025-52881).
	for _, k := range sortedKeys(s.Linux.Sysctl) {
		v := s.Linux.Sysctl[k]
		b.Addf(plan.OpProcWrite, []plan.Arg{plan.Int(int64(l.procSlot)), plan.Str("sys/" + strings.ReplaceAll(k, ".", "/")), plan.Blob([]byte(v))},
			"sysctl %s=%s", k, v)
	}
	b.Phase("finalize")
	if err := l.rootfs.Finalize(); err != nil {
		return err
	}
	b.Phase("")
	if o.Trace != nil || debugging() {
		b.Add("timings", plan.OpTimings)
	}
	// The parent looks up HOME and the executable in the container's root.
	b.Add("hand over the root", plan.OpSendFd, plan.Int(int64(l.rootfs.Root())), plan.Int(plan.TagRoot))
	// No fd of ours may be there for a cwd of /proc/self/fd/N to use.
	b.Close(l.rootfs.Root())
	b.Add("read the plan", plan.OpContinue)
	return b.Err()
}

// hostPseudoFs lists the whole procfs and sysfs mounts of our mount
// namespace outside rootfs.
func hostPseudoFs(rootfs string) []string {
	ms, err := mountinfo.GetMounts(func(i *mountinfo.Info) (skip, stop bool) {
		return i.Root != "/" || (i.FSType != "proc" && i.FSType != "sysfs") ||
			i.Mountpoint == rootfs || strings.HasPrefix(i.Mountpoint, rootfs+"/"), false
	})
	if err != nil {
		return nil
	}
	var out []string
	for _, m := range ms {
		out = append(out, m.Mountpoint)
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (l *launcher) rootfsConfig() (*rootfs.Config, error) {
	s, o := l.spec, l.opts
	rc := &rootfs.Config{
		Rootfs: l.c.state.Rootfs, Bundle: o.Bundle, Mounts: s.Mounts, Devices: s.Linux.Devices,
		Propagation: s.Linux.RootfsPropagation, Readonly: s.Root.Readonly, NoPivot: o.NoPivot,
		UserNS: hasNs(s, specs.UserNamespace), CgroupNS: hasNs(s, specs.CgroupNamespace),
		Masked: s.Linux.MaskedPaths, ReadOnly: s.Linux.ReadonlyPaths, MountLabel: s.Linux.MountLabel,
		InheritMountNS: hostmnt.Inherits(s), TreeFds: l.treeFds, TreesForParent: l.treesLater,
	}
	for _, m := range s.Mounts {
		if m.Type == "cgroup" || m.Type == "cgroup2" {
			host, err := l.hostCgroups()
			if err != nil {
				return nil, err
			}
			cv, err := rootfs.HostCgroupView(host, l.c.state.CgroupPaths)
			if err != nil {
				return nil, err
			}
			rc.Cgroup = cv
			break
		}
	}
	if _, err := os.Stat("/proc/kcore"); err == nil {
		rc.HasKcore = true
	}
	if rc.NoPivot {
		rc.HostPseudoFs = hostPseudoFs(rc.Rootfs)
	}
	return rc, nil
}

// createHooks: the init's mounts are done. It joins the container's cgroup
// now (the hooks may look it up in /proc/<pid>/cgroup), then the prestart
// and createRuntime hooks run here.
func (l *launcher) createHooks() error {
	if err := l.joinCgroupLate(); err != nil {
		return err
	}
	s := l.spec
	if s.Hooks == nil {
		return nil
	}
	st := l.c.OCIState()
	st.Status = specs.StateCreated
	//nolint:staticcheck // prestart is deprecated but still honoured, before createRuntime
	if err := hooks.Run("prestart", s.Hooks.Prestart, &st); err != nil {
		return err
	}
	return hooks.Run("createRuntime", s.Hooks.CreateRuntime, &st)
}

// processPart compiles the last part, once the init handed over its root
// (fd): HOME and the executable are looked up in it here.
func (l *launcher) processPart(root int) error {
	s := l.spec
	p := s.Process
	env := append(append([]string{}, p.Env...), l.extraEnv...)
	home := ""
	if initplan.NeedsHome(env) {
		home = lookup.Home(root, int(p.User.UID))
	}
	path, err := lookup.Path(root, p.Cwd, p.Args[0], env)
	if err != nil {
		return err
	}
	var stateJSON []byte // only startContainer hooks read it
	if s.Hooks != nil && len(s.Hooks.StartContainer) > 0 {
		st := l.c.OCIState()
		st.Status = specs.StateCreated
		stateJSON = initplan.StateJSON(&st)
	}
	return initplan.Process(&l.sp.b, &initplan.ProcOpts{
		Spec: s, Preserve: l.preserve, ExtraEnv: l.extraEnv, Home: home, Path: path, BPF: l.seccompBPF,
		ProcSlot: l.procSlot, FifoSlot: l.fifoSlot, State: stateJSON, Trace: l.opts.Trace != nil || debugging(),
		Userns: l.userns, SetgroupsDenied: l.setgroupsDenied,
	})
}

// initDeath says how the init died when it hung up without a word: a
// signal (the OOM killer's SIGKILL, a fault) or an exit. The init is our
// child then (we are its subreaper), so its pid is still its own; "" if we
// cannot tell.
func (l *launcher) initDeath() string {
	pid := l.c.state.InitPid
	if pid <= 0 {
		return ""
	}
	var ws unix.WaitStatus
	got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
	if err == nil && got == 0 {
		// It hung up but is not dead yet: it is exiting.
		if fd, err := unix.PidfdOpen(pid, 0); err == nil {
			unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 2000)
			unix.Close(fd)
		}
		got, err = unix.Wait4(pid, &ws, unix.WNOHANG, nil)
	}
	if err != nil || got != pid {
		return ""
	}
	return l.describeDeath(ws)
}

func (l *launcher) describeDeath(ws unix.WaitStatus) string {
	switch {
	case ws.Signaled() && ws.Signal() == unix.SIGKILL && l.spec.Linux.Resources != nil && l.spec.Linux.Resources.Memory != nil:
		return ": killed by SIGKILL (out of memory under the container's memory limit?)"
	case ws.Signaled():
		return ": killed by " + unix.SignalName(ws.Signal())
	default:
		return fmt.Sprintf(": exit status %d", ws.ExitStatus())
	}
}

// sealedSelf returns an O_PATH handle on our own binary through a private,
// detached, read-only bind mount of it. The init is executed through this
// handle, so /proc/<pid>/exe of every process teu starts inside a container
// names a file on a read-only mount nobody else can reach: opening it for
// writing fails (CVE-2019-5736), and no copy of the binary is made.
func sealedSelf() (*os.File, error) {
	slog.Debug("exeseal: using /proc/self/exe clone, a read-only detached bind mount")
	fd, err := unix.OpenTree(unix.AT_FDCWD, "/proc/self/exe", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if errors.Is(err, unix.EPERM) && os.Geteuid() != 0 {
		return sealedCopy() // no mounts without privileges
	}
	if err != nil {
		return nil, fmt.Errorf("clone teu binary mount: %w", err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("make teu binary mount read-only: %w", err)
	}
	return os.NewFile(uintptr(fd), "teu-exe"), nil
}

func dialConsole(path string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("connect to console socket %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), "console-socket"), nil
}

// maxPreserveFds bounds --preserve-fds plus LISTEN_FDS.
const maxPreserveFds = 1 << 16

// inheritedFile is fd as a file to pass on, or nil (the child gets nothing
// there) when the caller did not give us fd. nsenter's C constructor noted
// the caller's fds before the Go runtime (or teu) opened any of its own:
// --preserve-fds N must pass the caller's fds 3..3+N-1, never one the Go
// runtime opened (the host cgroup's CPU quota files), nor one teu opened
// itself (the state dir, whose flock would then outlive us, or the exec
// fifo). When the constructor could not tell, nothing is passed.
func inheritedFile(fd int) *os.File {
	fds, ok := nsenter.InheritedFds()
	if !ok || !slices.Contains(fds, fd) {
		return nil
	}
	return os.NewFile(uintptr(fd), "preserved-fd-"+strconv.Itoa(fd))
}

// listenFds is the number of socket-activation fds passed to us: LISTEN_FDS,
// unless LISTEN_PID says they were meant for another process.
func listenFds() int {
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n <= 0 {
		return 0
	}
	if p := os.Getenv("LISTEN_PID"); p != "" && p != strconv.Itoa(os.Getpid()) {
		return 0
	}
	return n
}
