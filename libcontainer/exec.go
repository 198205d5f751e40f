package libcontainer

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/affinity"
	"github.com/teu-runtime/teu/libcontainer/cgroups"
	"github.com/teu-runtime/teu/libcontainer/hostmnt"
	"github.com/teu-runtime/teu/libcontainer/initplan"
	"github.com/teu-runtime/teu/libcontainer/lookup"
	"github.com/teu-runtime/teu/libcontainer/plan"
	"github.com/teu-runtime/teu/libcontainer/state"
	"github.com/teu-runtime/teu/libcontainer/system"
	"github.com/teu-runtime/teu/libcontainer/validate"
)

// ExecOpts are the inputs of exec.
type ExecOpts struct {
	// Process is the complete process to run (the caller merged the
	// container's process and the command line into it).
	Process       *specs.Process
	ConsoleSocket string   // path of the engine's console socket
	ConsoleConn   *os.File // or an already-connected socket (attached with a tty)
	PidfdSocket   string   // path of a socket to send a pidfd of the process to
	PidFile       string
	PreserveFds   int
	// SubCgroup places the process in a sub-cgroup of the container's:
	// controller → path below the container's cgroup; the "" key applies
	// to every controller not named (and to cgroup2).
	SubCgroup    map[string]string
	IgnorePaused bool
	Stdin        *os.File
	Stdout       *os.File
	Stderr       *os.File
	// Trace, if set, receives the duration of each phase of exec.
	Trace func(phase string, d time.Duration)
}

// Exec starts a process in a running (or created) container: teu re-executes
// itself through its read-only sealed handle, nsexec.c joins every namespace
// of the container's init before the Go runtime starts, and the Go side
// (Init in exec mode) applies the process's limits, credentials and seccomp
// filter and execs it. Exec returns the process's host pid once it has
// exec'd (or died trying); the caller's process tree reaps it (a subreaper
// when attached). c may be loaded with LoadState: exec changes no state,
// and must not hold the lock while the process may sit frozen in a paused
// container's cgroup.
func (c *Container) Exec(o *ExecOpts) (int, error) {
	pid, err := c.exec(o)
	if err != nil {
		return 0, fmt.Errorf("exec %s: %w", c.ID(), err)
	}
	return pid, nil
}

func (c *Container) exec(o *ExecOpts) (int, error) {
	trace := o.Trace
	if trace == nil {
		trace = func(string, time.Duration) {}
	}
	t0 := time.Now()
	switch st := c.Status(); st {
	case Running, Created:
	case Paused:
		if !o.IgnorePaused {
			return 0, errors.New("cannot exec in a paused container (use --ignore-paused)")
		}
	default:
		return 0, fmt.Errorf("container is %s, not running", st)
	}
	p := o.Process
	if p == nil {
		return 0, errors.New("no process")
	}
	if err := validate.Process(p); err != nil {
		return 0, err
	}
	if len(p.Args) == 0 {
		return 0, errors.New("process.args must not be empty")
	}
	if p.Terminal && o.ConsoleSocket == "" && o.ConsoleConn == nil {
		return 0, errors.New("a terminal needs --console-socket when teu does not stay attached")
	}
	if !p.Terminal && (o.ConsoleSocket != "" || o.ConsoleConn != nil) {
		return 0, errors.New("--console-socket given without a terminal (--tty)")
	}
	spec, err := c.ProcessConfig()
	if err != nil {
		return 0, fmt.Errorf("read container config: %w", err)
	}
	if spec.Linux == nil {
		spec.Linux = &specs.Linux{}
	}
	pidfd, err := system.PidFD(c.state.InitPid, c.state.InitStartTime)
	if err != nil {
		return 0, errors.New("container is stopped")
	}
	defer unix.Close(pidfd)

	// The init's namespaces, opened here and then checked to still be the
	// init's (its pid cannot have been reused while it is alive), so the
	// process can never join another process's namespaces.
	var nsFiles []*os.File
	defer func() {
		for _, f := range nsFiles {
			f.Close()
		}
	}()
	var joinTypes []uint32
	var joinNames []string
	procDir := "/proc/" + strconv.Itoa(c.state.InitPid) + "/ns/"
	for _, ns := range spec.Linux.Namespaces {
		name, ok := validate.NamespaceFiles[ns.Type]
		if !ok {
			return 0, fmt.Errorf("unknown namespace type %q in the container's config", ns.Type)
		}
		f, err := os.Open(procDir + name)
		if err != nil {
			if !pidAlive(pidfd) {
				return 0, errors.New("container is stopped")
			}
			return 0, fmt.Errorf("open the container's %s namespace: %w", name, err)
		}
		nsFiles = append(nsFiles, f)
		joinTypes = append(joinTypes, validate.NamespaceFlags[ns.Type])
		joinNames = append(joinNames, name)
	}
	// Without a mount namespace to join, the process enters the init's
	// root (a chroot) by this fd, also checked to be the init's.
	var rootFile *os.File
	if hostmnt.Inherits(spec) {
		if rootFile, err = os.OpenFile("/proc/"+strconv.Itoa(c.state.InitPid)+"/root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
			if !pidAlive(pidfd) {
				return 0, errors.New("container is stopped")
			}
			return 0, fmt.Errorf("open the container's root: %w", err)
		}
		defer rootFile.Close()
	}
	if !pidAlive(pidfd) {
		return 0, errors.New("container is stopped")
	}

	var console *os.File
	if o.ConsoleConn != nil {
		console = o.ConsoleConn
	} else if o.ConsoleSocket != "" {
		console, err = dialConsole(o.ConsoleSocket)
		if err != nil {
			return 0, err
		}
		defer console.Close()
	}
	var pidfdSock *os.File
	if o.PidfdSocket != "" {
		if pidfdSock, err = dialUnix(o.PidfdSocket, "pidfd socket"); err != nil {
			return 0, err
		}
		defer pidfdSock.Close()
	}
	// Child fds: 3.. preserved fds, then ours.
	if o.PreserveFds < 0 || o.PreserveFds > maxPreserveFds {
		return 0, fmt.Errorf("cannot preserve %d fds: at most %d", o.PreserveFds, maxPreserveFds)
	}
	var preserved []*os.File
	for i := 0; i < o.PreserveFds; i++ {
		preserved = append(preserved, inheritedFile(3+i))
	}
	sp, err := newSpawn(preserved)
	if err != nil {
		return 0, err
	}
	defer sp.close()
	exe, err := sealedSelf()
	if err != nil {
		return 0, err
	}
	defer exe.Close()
	// The exec'd process gets the container's seccomp filter, nothing else
	// of its config: rootfs, hostname and sysctls are the init's business.
	es := lsmForHost(&specs.Spec{Version: spec.Version, Process: p, Linux: &specs.Linux{Seccomp: spec.Linux.Seccomp,
		MemoryPolicy: spec.Linux.MemoryPolicy, Personality: spec.Linux.Personality}})
	bpf, err := c.execSeccomp(es)
	if err != nil {
		return 0, err
	}
	b := &sp.b
	boot := &initplan.BootOpts{OOMScoreAdj: p.OOMScoreAdj, RootSlot: -1}
	var userFile *os.File
	for i, f := range nsFiles {
		boot.Joins = append(boot.Joins, initplan.NsJoin{Slot: sp.adopt(sp.fd(f), "the container's "+joinNames[i]+" namespace"), Type: joinTypes[i]})
		if joinTypes[i] == unix.CLONE_NEWUSER {
			userFile = f
		}
	}
	markOwned(boot.Joins, nsFiles, userFile)
	consoleSlot := -1
	if console != nil {
		consoleSlot = sp.adopt(sp.fd(console), "the console socket")
	}
	if rootFile != nil {
		boot.RootSlot = sp.adopt(sp.fd(rootFile), "the container's root")
	}
	initplan.Boot(b, boot)
	userns := userFile != nil
	procSlot := -1
	if o.Trace != nil || debugging() {
		sp.Timings = func(first int, us []uint32) {
			logSteps(b, "exec", first, us)
			traceSteps(b, first, us, o.Trace)
			// The timings of the process part come just before its execve.
			for i := first + len(us); i < b.Len(); i++ {
				if s := b.Step(i); s != nil && s.Op == plan.OpExec {
					slog.Debug("setns_init: about to exec", "step", i)
				}
			}
		}
	}
	trace("prepare", time.Since(t0))
	t0 = time.Now()
	if err := sp.start(exe, o.Stdin, o.Stdout, o.Stderr); err != nil {
		return 0, err
	}
	trace("exec init", time.Since(t0))
	t0 = time.Now()
	pid := 0
	defer func() {
		// On failure nothing we started may linger.
		if sp.cmd.ProcessState == nil {
			sp.cmd.Process.Kill()
			sp.cmd.Wait()
		}
	}()
	for _, f := range nsFiles {
		f.Close()
	}
	nsFiles = nil
	initial := ""
	if a := p.ExecCPUAffinity; a != nil {
		initial = a.Initial
	}
	if err := affinity.Initial(sp.cmd.Process.Pid, initial); err != nil {
		return 0, err
	}
	if err := sp.send(); err != nil {
		return 0, err
	}
	fail := func(err error) (int, error) {
		if pid > 0 {
			unix.Kill(pid, unix.SIGKILL)
		}
		return 0, err
	}
	procFd := -1
	defer func() {
		if procFd >= 0 {
			unix.Close(procFd)
		}
	}()
	err = sp.run(func(m plan.Msg, fd int) error {
		if fd >= 0 {
			defer unix.Close(fd)
		}
		switch {
		case m.Type == plan.MsgPid:
			pid = int(m.A)
			slog.Debug("nsexec container setup done: the container's namespaces joined", "pid", pid)
			slog.Debug("child process in init(): exec's process runs the plan", "pid", pid)
			// Opened now, while the executor waits for its child (the pid
			// is the process's for sure), and the pidfd still works if it
			// exits at once.
			if pidfdSock != nil {
				var err error
				if procFd, err = unix.PidfdOpen(pid, 0); err != nil {
					return fmt.Errorf("pidfd of the process: %w", err)
				}
			}
			sp.release()
			// runc makes every container process a session leader.
			b.Add("setsid", plan.OpSetsid)
			procSlot = b.Slot()
			b.Add("open a procfs of our own", plan.OpProcfs, plan.Int(int64(procSlot)))
			if !c.state.NoNewKeyring {
				initplan.Keyring(b, c.ID(), es.Process.SelinuxLabel, procSlot)
			}
			if p.Terminal {
				rows, cols := 0, 0
				if cs := p.ConsoleSize; cs != nil {
					rows, cols = int(cs.Height), int(cs.Width)
				}
				// /dev/console is the container's first terminal; exec's is not it.
				b.Add("set up the terminal", plan.OpConsole, plan.Int(int64(consoleSlot)), plan.Int(int64(rows)), plan.Int(int64(cols)), plan.Int(0))
				b.Close(consoleSlot)
			}
			// The parent moves us into the container's cgroup now, before
			// the process attributes (a cpuset move resets the affinity),
			// once our set-up is done: it is not charged to the container.
			b.Add("join the container's cgroup", plan.OpSync, plan.Int(plan.TagJoin))
			root := b.Slot()
			b.Add("open the root", plan.OpOpen, plan.Int(int64(root)), plan.Str("/"), plan.Int(unix.O_PATH|unix.O_DIRECTORY))
			b.Add("hand over the root", plan.OpSendFd, plan.Int(int64(root)), plan.Int(plan.TagRoot))
			b.Close(root)
			b.Add("read the plan", plan.OpContinue)
			sp.queue()
			return nil
		case m.Type == plan.MsgSync && m.A == plan.TagJoin:
			return c.joinCgroup(pid, o.SubCgroup)
		case m.Type == plan.MsgFd && m.A == plan.TagRoot:
			env := p.Env
			home := ""
			if initplan.NeedsHome(env) {
				home = lookup.Home(fd, int(p.User.UID))
			}
			path, err := lookup.Path(fd, p.Cwd, p.Args[0], env)
			if err != nil {
				return err
			}
			if err := initplan.Process(b, &initplan.ProcOpts{Spec: es, Exec: true, Preserve: o.PreserveFds, Home: home, Path: path,
				BPF: bpf, ProcSlot: procSlot, FifoSlot: -1, Userns: userns, Trace: o.Trace != nil || debugging()}); err != nil {
				return err
			}
			sp.queue()
			return nil
		case m.Type == plan.MsgFd && m.A == plan.TagSeccomp:
			st := c.OCIState()
			st.Status = specs.StateCreating
			return forwardSeccomp(fd, es.Linux.Seccomp, st, c.state.InitPid)
		}
		return fmt.Errorf("unexpected message %d/%d from exec init", m.Type, m.A)
	})
	// The executor reports errors; its end of the socket closes (on exec)
	// when the process runs.
	if err != nil && !errors.Is(err, io.EOF) {
		return fail(err)
	}
	if pid == 0 {
		return 0, errors.New("exec init exited while joining the namespaces")
	}
	trace("setup", time.Since(t0))
	if o.PidFile != "" {
		if err := state.WriteFileAtomic(o.PidFile, []byte(strconv.Itoa(pid))); err != nil {
			return fail(fmt.Errorf("write pid file: %w", err))
		}
	}
	if pidfdSock != nil {
		if err := sendPidfd(pidfdSock, pidfdKindExec, procFd); err != nil {
			return fail(err)
		}
	}
	return pid, nil
}

// pidAlive reports whether the process behind pidfd has not exited.
func pidAlive(pidfd int) bool {
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n == 0
}

// joinCgroup moves pid into the container's cgroup, or the sub-cgroups
// sub names (which must exist, as with runc).
func (c *Container) joinCgroup(pid int, sub map[string]string) error {
	paths := c.state.CgroupPaths
	for ctrl := range sub {
		if _, ok := paths[ctrl]; !ok && ctrl != "" {
			return fmt.Errorf("--cgroup: unknown controller %q: the container has no %s cgroup", ctrl, ctrl)
		}
	}
	hybrid := len(paths) > 1 && paths[""] != ""
	done := map[string]bool{}
	for ctrl, dir := range paths {
		s, ok := sub[ctrl]
		if !ok {
			s = sub[""]
		}
		target := dir
		if s != "" {
			target = filepath.Join(dir, filepath.Clean("/"+s))
		}
		if done[target] {
			continue
		}
		done[target] = true
		err := cgroups.Write(filepath.Join(target, "cgroup.procs"), strconv.Itoa(pid), false)
		if err != nil && ctrl == "" && hybrid && target != dir {
			// On a hybrid host the cgroup2 placement is a courtesy: the
			// container's own, if the sub-cgroup exists only in v1.
			err = cgroups.Write(filepath.Join(dir, "cgroup.procs"), strconv.Itoa(pid), false)
		}
		if err != nil && ctrl == "" && !hybrid && s == "" {
			// v2: the container's cgroup may not take processes (its
			// init moved to a sub-cgroup and enabled a domain controller:
			// no internal processes). Join the init's, as runc does, if
			// it is inside the container's cgroup.
			if init := c.initCgroup(dir); init != "" {
				slog.Debug("exec: joining the init's cgroup", "cgroup", init, "error", err)
				err = cgroups.Write(filepath.Join(init, "cgroup.procs"), strconv.Itoa(pid), false)
				target = init
			}
		}
		if err == nil {
			continue
		}
		if (ctrl == "" && hybrid) || (c.state.RootlessCgroups && errors.Is(err, os.ErrPermission)) {
			slog.Warn("exec: cgroup skipped", "controller", ctrl, "error", err)
			continue
		}
		return fmt.Errorf("join cgroup: adding pid %d to cgroups (%s): %w", pid, target, errors.Unwrap(err))
	}
	return nil
}

// initCgroup is the cgroup2 directory the container's init is in, when it
// is below dir (the container's cgroup), else "".
func (c *Container) initCgroup(dir string) string {
	cg, err := cgroups.ParseCgroupFile(fmt.Sprintf("/proc/%d/cgroup", c.state.InitPid))
	if err != nil || !c.state.InitAlive() {
		return ""
	}
	p, ok := cg[""]
	if !ok {
		return ""
	}
	init := filepath.Join(cgroups.MountRoot, filepath.Clean("/"+p))
	if init == dir || !strings.HasPrefix(init, dir+"/") {
		return ""
	}
	return init
}

// ParseSubCgroup parses exec's --cgroup values: "path" for every
// controller, or "ctrl[,ctrl...]:path" (cgroup v1).
func ParseSubCgroup(vals []string) (map[string]string, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, v := range vals {
		ctrls, path, found := strings.Cut(v, ":")
		if !found {
			ctrls, path = "", v
		}
		if path == "" || strings.Contains(path, "\x00") {
			return nil, fmt.Errorf("invalid --cgroup %q", v)
		}
		for _, part := range strings.Split(path, "/") {
			if part == ".." {
				return nil, fmt.Errorf("bad sub cgroup path %q: .. is not allowed", v)
			}
		}
		if found && cgroups.GetMode() == cgroups.Unified {
			return nil, fmt.Errorf("invalid --cgroup %q: controllers can be named on cgroup v1 only", v)
		}
		for _, ctrl := range strings.Split(ctrls, ",") {
			if _, dup := out[ctrl]; dup {
				return nil, fmt.Errorf("--cgroup: %q given twice", ctrl)
			}
			out[ctrl] = path
		}
	}
	return out, nil
}

// seccompCache holds the compiled filter for exec in the state directory:
// the length of linux.seccomp as JSON (4 bytes, little-endian), that JSON,
// then the program. Once a container has a compiled filter, exec skips
// libseccomp altogether. The profile itself is the key, compared whole: a
// hash of it would be the binary's only use of crypto/*.
const seccompCache = "seccomp.bpf"

// execSeccomp is the container's compiled filter (nil without one), from the
// cache when it matches the profile, else compiled and cached.
func (c *Container) execSeccomp(s *specs.Spec) ([]byte, error) {
	if s.Linux == nil || s.Linux.Seccomp == nil {
		return nil, nil
	}
	prof, err := json.Marshal(s.Linux.Seccomp)
	if err != nil {
		return nil, err
	}
	key := binary.LittleEndian.AppendUint32(nil, uint32(len(prof)))
	key = append(key, prof...)
	path := filepath.Join(c.stateDirPath(), seccompCache)
	if data, err := system.ReadFile(path); err == nil && len(data) > len(key) && bytes.Equal(data[:len(key)], key) {
		return data[len(key):], nil
	}
	bpf, err := compileSeccomp(s)
	if err != nil {
		return nil, err
	}
	// Best effort, and atomic: a unique temporary file renamed into place,
	// so a concurrent exec reads a whole program or none.
	if f, err := os.CreateTemp(c.stateDirPath(), seccompCache+".*"); err == nil {
		_, werr := f.Write(append(key, bpf...))
		if cerr := f.Close(); werr != nil || cerr != nil || os.Rename(f.Name(), path) != nil { //nolint:forbidigo // in the state dir
			os.Remove(f.Name())
		}
	}
	return bpf, nil
}
