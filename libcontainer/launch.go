package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/cgroups"
	"github.com/teu-runtime/teu/libcontainer/hooks"
	"github.com/teu-runtime/teu/libcontainer/system"
	"github.com/teu-runtime/teu/libcontainer/validate"
	"github.com/teu-runtime/teu/nsenter"
)

// CreateOpts are the inputs of create (and run).
type CreateOpts struct {
	ID            string
	Bundle        string // absolute path of the bundle
	Spec          *specs.Spec
	ConsoleSocket string   // path of the engine's console socket
	ConsoleConn   *os.File // or an already-connected socket (run with a tty)
	PidfdSocket   string   // path of a socket to send a pidfd of the init to
	PidFile       string
	NoPivot       bool
	NoNewKeyring  bool
	PreserveFds   int
	// SystemdCgroup: the cgroup is a systemd scope (--systemd-cgroup).
	SystemdCgroup bool
	Stdin         *os.File
	Stdout        *os.File
	Stderr        *os.File
	// Trace, if set, receives the duration of each phase of create.
	Trace func(phase string, d time.Duration)
}

// initConfig is what the parent sends the Go side of init.
type initConfig struct {
	ID   string      `json:"id"`
	Spec *specs.Spec `json:"-"`
	// SpecJSON is Spec on the wire: the init decodes it through procSpec.
	SpecJSON     json.RawMessage `json:"spec"`
	Bundle       string          `json:"bundle"`
	Rootfs       string          `json:"rootfs"`
	NoPivot      bool            `json:"no_pivot,omitempty"`
	NoNewKeyring bool            `json:"no_new_keyring,omitempty"`
	Trace        bool            `json:"trace,omitempty"`
	PreserveFds  int             `json:"preserve_fds"` // fds 3..3+n-1 pass into the container
	FifoFd       int             `json:"fifo_fd"`
	ConsoleFd    int             `json:"console_fd"` // -1 without a console socket
	ExtraEnv     []string        `json:"extra_env,omitempty"`
	HostPid      int             `json:"host_pid"`              // the init's pid as the host sees it, for hooks' state
	SeccompBPF   []byte          `json:"seccomp_bpf,omitempty"` // compiled linux.seccomp (struct sock_filter[])
	// IDMapFds: mount index → fd of its idmapped tree (idmap.go).
	IDMapFds map[int]int `json:"idmap_fds,omitempty"`
	// CgroupPaths are the container's cgroups (controller → host dir): the
	// init does its set-up outside them, so /proc/self/cgroup won't tell.
	CgroupPaths map[string]string `json:"cgroup_paths,omitempty"`
	// Exec: the init of `teu exec`, in an existing container (exec_init.go).
	Exec bool `json:"exec,omitempty"`
	// RootFd: exec's fd of the init's root, to chroot into when the
	// container has no mount namespace to join (0: none).
	RootFd int `json:"root_fd,omitempty"`
}

const envInitConfig = "_TEU_INIT_CONFIG"

// send writes the config to the init, and closes w.
func (ic *initConfig) send(w io.WriteCloser) {
	defer w.Close()
	data, err := json.Marshal(ic.Spec)
	if err != nil {
		return // the init reports a config it could not read
	}
	ic.SpecJSON = data
	json.NewEncoder(w).Encode(ic)
}

// Create makes a container whose init waits on exec.fifo for start.
func Create(root string, o *CreateOpts) (c *Container, retErr error) {
	trace := o.Trace
	if trace == nil {
		trace = func(string, time.Duration) {}
	}
	t0 := time.Now()
	if err := ValidateID(o.ID); err != nil {
		return nil, err
	}
	s := o.Spec
	if err := validate.Spec(s, o.Bundle); err != nil {
		return nil, fmt.Errorf("create %s: %w", o.ID, err)
	}
	if err := checkHost(s); err != nil {
		return nil, fmt.Errorf("create %s: %w", o.ID, err)
	}
	if err := checkInheritedMountNS(s, o.NoPivot); err != nil {
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

	d, err := newStateDir(root, o.ID)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", o.ID, err)
	}
	c = &Container{root: root, dir: d, state: State{
		ID: o.ID, Bundle: o.Bundle, Rootfs: rootfs, Created: time.Now().UTC(),
		Owner: ownerName(), Annotations: s.Annotations, Creating: true, NoNewKeyring: o.NoNewKeyring,
		SystemdCgroup: o.SystemdCgroup,
	}}
	l := &launcher{c: c, opts: o, spec: s, seccompBPF: bpf}
	pidFileWritten := false
	defer func() {
		if retErr != nil {
			l.abort()
			d.remove()
			if pidFileWritten {
				os.Remove(o.PidFile)
			}
			retErr = fmt.Errorf("create %s: %w", o.ID, retErr)
		}
	}()
	if err := d.writeJSON(configFile, s); err != nil {
		return nil, fmt.Errorf("save config: %w", err)
	}
	if err := d.writeJSON(stateFile, &c.state); err != nil {
		return nil, fmt.Errorf("save state: %w", err)
	}
	trace("prepare", time.Since(t0))
	if err := l.start(); err != nil {
		return nil, err
	}
	if o.PidFile != "" {
		if err := writeFileAtomic(o.PidFile, []byte(strconv.Itoa(c.state.InitPid))); err != nil {
			return nil, fmt.Errorf("write pid file: %w", err)
		}
		pidFileWritten = true
	}
	c.state.Creating = false
	if err := d.writeJSON(stateFile, &c.state); err != nil {
		return nil, fmt.Errorf("save state: %w", err)
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
	c     *Container
	opts  *CreateOpts
	spec  *specs.Spec
	cmd   *exec.Cmd
	sync  syncSock
	pidfd int
	// cgroup is the container's cgroup once applyCgroup made it.
	cgroup cgroups.Manager
	// cgroupParents: the directories create makes above it (newParents).
	cgroupParents map[string]string
	// seccompBPF is the compiled linux.seccomp, if any.
	seccompBPF []byte
	// mountsBefore: the mounts under the rootfs before the init ran, when
	// it shares the runtime's mount namespace (hostmnt.go).
	mountsBefore map[int]bool
	// outside: the init does its set-up outside the container's cgroup.
	outside bool
	// cgroupTime: how long making the cgroup and moving took (--trace).
	cgroupTime time.Duration
}

// abort kills whatever the failed create started.
func (l *launcher) abort() {
	if l.cmd != nil && l.cmd.Process != nil && l.cmd.ProcessState == nil {
		l.cmd.Process.Kill()
		l.cmd.Wait()
	}
	if l.c.state.InitPid > 0 {
		if fd, err := system.PidFD(l.c.state.InitPid, l.c.state.InitStartTime); err == nil {
			unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
			system.WaitPidFD(fd)
			unix.Close(fd)
		}
	}
	if l.mountsBefore != nil {
		ids, err := newMountsUnder(l.c.state.Rootfs, l.mountsBefore)
		if err == nil {
			err = unmountInherited(l.c.state.Rootfs, ids)
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
	fifo := d.file(fifoFile)
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		return fmt.Errorf("make exec fifo: %w", err)
	}
	// The init reopens it through its O_PATH fd after switching to the
	// process's user (maybe in a user namespace): anyone may write it.
	// Only that fd reaches it; the state directory is closed to others.
	if err := os.Chmod(fifo, 0o622); err != nil {
		return fmt.Errorf("make exec fifo: %w", err)
	}
	fifoFd, err := os.OpenFile(fifo, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open exec fifo: %w", err)
	}
	defer fifoFd.Close()

	parentSock, childSock, err := socketPair("init")
	if err != nil {
		return err
	}
	defer parentSock.Close()
	defer childSock.Close()
	l.sync = syncSock{parentSock}
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer cfgR.Close()
	defer cfgW.Close()

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

	// Child fds: 3.. preserved fds, then ours.
	preserve := o.PreserveFds
	var extraEnv []string
	if n := listenFds(); n > 0 {
		preserve += n
		extraEnv = append(extraEnv, "LISTEN_FDS="+strconv.Itoa(n), "LISTEN_PID=1")
	}
	if preserve < 0 || preserve > maxPreserveFds {
		return fmt.Errorf("cannot preserve %d fds: at most %d", preserve, maxPreserveFds)
	}
	var extra []*os.File
	for i := 0; i < preserve; i++ {
		extra = append(extra, inheritedFile(3+i))
	}
	fdOf := func(f *os.File) int { extra = append(extra, f); return 2 + len(extra) }
	sockFd := fdOf(childSock)
	cfgFd := fdOf(cfgR)
	ic := initConfig{ID: o.ID, Spec: lsmForHost(s), Bundle: o.Bundle, Rootfs: l.c.state.Rootfs, NoPivot: o.NoPivot,
		NoNewKeyring: o.NoNewKeyring, PreserveFds: preserve, FifoFd: fdOf(fifoFd), ConsoleFd: -1, ExtraEnv: extraEnv,
		SeccompBPF: l.seccompBPF}
	if console != nil {
		ic.ConsoleFd = fdOf(console)
	}
	exeFd := fdOf(exe)
	trees, err := idmapTrees(s, o.Bundle)
	if err != nil {
		return err
	}
	for i, t := range trees {
		defer t.Close()
		if ic.IDMapFds == nil {
			ic.IDMapFds = map[int]int{}
		}
		ic.IDMapFds[i] = fdOf(t)
	}

	boot, err := bootstrapFor(s)
	if err != nil {
		return err
	}
	msg, err := boot.Encode()
	if err != nil {
		return err
	}
	if inheritsMountNS(s) {
		if l.mountsBefore, err = mountIDsUnder(l.c.state.Rootfs); err != nil {
			return err
		}
	}
	// The init is the intermediate's child; when that exits it becomes
	// ours, so that a death during setup can be told (initDeath).
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	l.cmd = initCmd(exeFd, sockFd, cfgFd, extra, o.Stdin, o.Stdout, o.Stderr)
	if err := system.CloseExecFrom(3); err != nil {
		return fmt.Errorf("close fds: %w", err)
	}
	if err := l.cmd.Start(); err != nil {
		return fmt.Errorf("start init: %w", err)
	}
	trace("exec init", time.Since(t0))
	t0 = time.Now()
	childSock.Close()
	cfgR.Close()
	if err := l.bootstrap(msg); err != nil {
		return err
	}
	// The cgroup is made while nsexec.c waits, in the middle of the
	// namespaces ("C", "O"): its time is told apart.
	trace("cgroup", l.cgroupTime)
	trace("namespaces", time.Since(t0)-l.cgroupTime)
	t0 = time.Now()
	// The init waits for its config: the devices are in place before it
	// sets anything up.
	if err := moveNetDevices(l.c.state.InitPid, s.Linux.NetDevices); err != nil {
		return err
	}

	ic.HostPid = l.c.state.InitPid
	ic.CgroupPaths = l.c.state.CgroupPaths
	ic.Trace = o.Trace != nil
	go ic.send(cfgW)
	for {
		m, err := l.sync.recv()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, unix.ECONNRESET) {
				return errors.New("container init exited during setup" + l.initDeath())
			}
			return fmt.Errorf("read from init: %w", err)
		}
		switch m.Type {
		case msgError:
			return errors.New(m.Error)
		case msgHooks:
			if err := l.joinCgroupLate(); err != nil {
				l.sync.send(syncMsg{Type: msgError, Error: err.Error()})
				return err
			}
			// The init's Go start, its config, mounts: details at "ready".
			trace("init setup", time.Since(t0))
			t0 = time.Now()
			st := l.c.OCIState()
			// runtime-tools expects hooks that run during create to be
			// told "created" (its hooks_stdin program; runc fails it).
			st.Status = specs.StateCreated
			if s.Hooks != nil {
				//nolint:staticcheck // prestart is deprecated but still honoured, before createRuntime
				if err := hooks.Run("prestart", s.Hooks.Prestart, &st); err != nil {
					l.sync.send(syncMsg{Type: msgError, Error: err.Error()})
					return err
				}
				if err := hooks.Run("createRuntime", s.Hooks.CreateRuntime, &st); err != nil {
					l.sync.send(syncMsg{Type: msgError, Error: err.Error()})
					return err
				}
			}
			trace("hooks", time.Since(t0))
			t0 = time.Now()
			if err := l.sync.send(syncMsg{Type: msgAck}); err != nil {
				return fmt.Errorf("write to init: %w", err)
			}
		case msgSeccomp:
			if err := l.forwardSeccomp(); err != nil {
				l.sync.send(syncMsg{Type: msgError, Error: err.Error()})
				return err
			}
			if err := l.sync.send(syncMsg{Type: msgAck}); err != nil {
				return fmt.Errorf("write to init: %w", err)
			}
		case msgReady:
			if l.mountsBefore != nil {
				if l.c.state.HostMounts, err = newMountsUnder(l.c.state.Rootfs, l.mountsBefore); err != nil {
					return err
				}
			}
			trace("finish", time.Since(t0))
			for _, p := range m.Phases {
				trace("init "+p.Name, time.Duration(p.Ns))
			}
			if pidfdSock != nil {
				return l.sendInitPidfd(pidfdSock)
			}
			return nil
		default:
			return fmt.Errorf("unexpected message %q from init", m.Type)
		}
	}
}

// initDeath says how the init died when it hung up without a word: a
// signal (the OOM killer's SIGKILL, a fault) or an exit from the Go
// runtime, whose fatal errors go to the container's stderr. The init is our
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
	case ws.ExitStatus() == 2:
		return ": exit status 2 (a Go runtime fatal error: see the container's stderr)"
	default:
		return fmt.Sprintf(": exit status %d", ws.ExitStatus())
	}
}

// bootstrap drives nsexec.c: it sends the namespaces to join and create,
// writes id maps when asked, and learns the init's pid.
func (l *launcher) bootstrap(msg []byte) error {
	if _, err := l.sync.f.Write(msg); err != nil {
		return fmt.Errorf("send bootstrap: %w", err)
	}
	buf := make([]byte, 4096)
	for {
		n, err := l.sync.f.Read(buf)
		if err != nil || n == 0 {
			l.cmd.Wait()
			how := ""
			if ps := l.cmd.ProcessState; ps != nil {
				ws, _ := ps.Sys().(syscall.WaitStatus)
				how = l.describeDeath(unix.WaitStatus(ws))
			}
			return errors.New("container init exited during namespace setup" + how)
		}
		reply := string(buf[:n])
		switch {
		case reply == "C":
			// The cgroup is made and joined before the init can create a
			// cgroup namespace; the intermediate is then taken out again.
			t0 := time.Now()
			if err := l.applyCgroup(l.cmd.Process.Pid); err != nil {
				return err
			}
			l.cgroupTime += time.Since(t0)
			if _, err := l.sync.f.Write([]byte("c")); err != nil {
				return fmt.Errorf("write to init: %w", err)
			}
		case reply == "O":
			t0 := time.Now()
			l.setupOutsideCgroup(l.cmd.Process.Pid)
			l.cgroupTime += time.Since(t0)
			if _, err := l.sync.f.Write([]byte("o")); err != nil {
				return fmt.Errorf("write to init: %w", err)
			}
		case reply == "U":
			if err := writeIDMaps(l.cmd.Process.Pid, l.spec.Linux); err != nil {
				return err
			}
			if _, err := l.sync.f.Write([]byte("M")); err != nil {
				return fmt.Errorf("write to init: %w", err)
			}
		case strings.HasPrefix(reply, "P "):
			pid, err := strconv.Atoi(reply[2:])
			if err != nil {
				return fmt.Errorf("bad pid message %q", reply)
			}
			// The intermediate process exits right after sending the pid.
			l.cmd.Wait()
			st, err := system.StartTime(pid)
			if err != nil {
				return fmt.Errorf("container init %d vanished: %w", pid, err)
			}
			l.c.state.InitPid, l.c.state.InitStartTime = pid, st
			// Record the pid at once: if we are killed now, delete --force
			// still finds the init.
			return l.c.dir.writeJSON(stateFile, &l.c.state)
		case strings.HasPrefix(reply, "E "):
			l.cmd.Wait()
			return errors.New(reply[2:])
		default:
			return fmt.Errorf("unexpected bootstrap reply %q", reply)
		}
	}
}

var nsFlags = map[specs.LinuxNamespaceType]uint32{
	specs.PIDNamespace: unix.CLONE_NEWPID, specs.NetworkNamespace: unix.CLONE_NEWNET,
	specs.MountNamespace: unix.CLONE_NEWNS, specs.IPCNamespace: unix.CLONE_NEWIPC,
	specs.UTSNamespace: unix.CLONE_NEWUTS, specs.UserNamespace: unix.CLONE_NEWUSER,
	specs.CgroupNamespace: unix.CLONE_NEWCGROUP, specs.TimeNamespace: unix.CLONE_NEWTIME,
}

func bootstrapFor(s *specs.Spec) (*nsenter.Bootstrap, error) {
	b := &nsenter.Bootstrap{CgroupSync: true}
	if s.Process != nil {
		b.OOMScoreAdj = s.Process.OOMScoreAdj
	}
	for _, ns := range s.Linux.Namespaces {
		flag := nsFlags[ns.Type]
		if ns.Path == "" {
			b.CloneFlags |= flag
		} else {
			b.Join = append(b.Join, nsenter.NsPath{Type: flag, Path: ns.Path})
		}
	}
	var sb strings.Builder
	for _, clock := range []string{"monotonic", "boottime"} {
		if off, ok := s.Linux.TimeOffsets[clock]; ok {
			fmt.Fprintf(&sb, "%s %d %d\n", clock, off.Secs, off.Nanosecs)
		}
	}
	b.TimensOffsets = sb.String()
	return b, nil
}

// sealedSelf returns an O_PATH handle on our own binary through a private,
// detached, read-only bind mount of it. The init is executed through this
// handle, so /proc/<pid>/exe of every process teu starts inside a container
// names a file on a read-only mount nobody else can reach: opening it for
// writing fails (CVE-2019-5736), and no copy of the binary is made.
func sealedSelf() (*os.File, error) {
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

// inherited holds the fds above stdio this process got from its caller,
// as nsenter's C constructor found them before the Go runtime (or teu)
// opened any of its own.
var inherited map[int]bool

// NoteInheritedFds records which fds above stdio the caller passed us
// (already close-on-exec, so that nothing but the init can get them, and
// it only as preserved fds). main calls it first thing: --preserve-fds N
// must pass the caller's fds 3..3+N-1, never one the Go runtime opened
// (the host cgroup's CPU quota files), nor one teu opened itself (the
// state dir, whose flock would then outlive us, or the exec fifo).
func NoteInheritedFds() {
	inherited = map[int]bool{}
	fds, _ := nsenter.InheritedFds()
	for _, fd := range fds {
		inherited[fd] = true
	}
}

// inheritedFile is fd as a file to pass on, or nil (the child gets nothing
// there) when the caller did not give us fd.
func inheritedFile(fd int) *os.File {
	if inherited != nil && !inherited[fd] {
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

// initCmd is `teu init` run through the sealed binary (fd exeFd), with the
// sync socket and config pipe named in its environment. Callers mark their
// own fds close-on-exec before Start: Go's fork/exec passes on every fd we
// inherited without it (the caller's open files), and only stdio and
// ExtraFiles (which include the preserved fds) may reach the init, where
// anything else would sit until exec.
func initCmd(exeFd, sockFd, cfgFd int, extra []*os.File, stdin, stdout, stderr *os.File) *exec.Cmd {
	or := func(f, def *os.File) *os.File {
		if f != nil {
			return f
		}
		return def
	}
	return &exec.Cmd{
		Path:       "/proc/self/fd/" + strconv.Itoa(exeFd),
		Args:       []string{"teu", "init"},
		Env:        []string{nsenter.EnvInitSock + "=" + strconv.Itoa(sockFd), envInitConfig + "=" + strconv.Itoa(cfgFd)},
		Stdin:      or(stdin, os.Stdin),
		Stdout:     or(stdout, os.Stdout),
		Stderr:     or(stderr, os.Stderr),
		ExtraFiles: extra,
		Dir:        "/",
	}
}
