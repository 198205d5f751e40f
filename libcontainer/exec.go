package libcontainer

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/cgroups"
	"github.com/teu-runtime/teu/libcontainer/system"
	"github.com/teu-runtime/teu/libcontainer/validate"
	"github.com/teu-runtime/teu/nsenter"
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
}

// nsNames are the /proc/<pid>/ns entries of each namespace type.
var nsNames = map[specs.LinuxNamespaceType]string{
	specs.PIDNamespace: "pid", specs.NetworkNamespace: "net", specs.MountNamespace: "mnt",
	specs.IPCNamespace: "ipc", specs.UTSNamespace: "uts", specs.UserNamespace: "user",
	specs.CgroupNamespace: "cgroup", specs.TimeNamespace: "time",
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
	switch st := c.Status(); st {
	case Running, Created:
	case Paused:
		if !o.IgnorePaused {
			return 0, errors.New("container is paused (use --ignore-paused)")
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
	procDir := "/proc/" + strconv.Itoa(c.state.InitPid) + "/ns/"
	for _, ns := range spec.Linux.Namespaces {
		name, ok := nsNames[ns.Type]
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
		joinTypes = append(joinTypes, nsFlags[ns.Type])
	}
	// Without a mount namespace to join, the process enters the init's
	// root (a chroot) by this fd, also checked to be the init's.
	var rootFile *os.File
	if inheritsMountNS(spec) {
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

	parentSock, childSock, err := socketPair("exec")
	if err != nil {
		return 0, err
	}
	defer parentSock.Close()
	defer childSock.Close()
	sync := syncSock{parentSock}
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer cfgR.Close()
	defer cfgW.Close()
	exe, err := sealedSelf()
	if err != nil {
		return 0, err
	}
	defer exe.Close()
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
	var extra []*os.File
	for i := 0; i < o.PreserveFds; i++ {
		extra = append(extra, inheritedFile(3+i))
	}
	fdOf := func(f *os.File) int { extra = append(extra, f); return 2 + len(extra) }
	boot := nsenter.Bootstrap{OOMScoreAdj: p.OOMScoreAdj}
	for i, f := range nsFiles {
		boot.Join = append(boot.Join, nsenter.NsPath{Type: joinTypes[i], Path: "/proc/self/fd/" + strconv.Itoa(fdOf(f))})
	}
	msg, err := boot.Encode()
	if err != nil {
		return 0, err
	}
	sockFd := fdOf(childSock)
	cfgFd := fdOf(cfgR)
	// The exec'd process gets the container's seccomp filter, nothing else
	// of its config: rootfs, hostname and sysctls are the init's business.
	ic := initConfig{ID: c.ID(), Exec: true, NoNewKeyring: c.state.NoNewKeyring, PreserveFds: o.PreserveFds,
		ConsoleFd: -1, Spec: lsmForHost(&specs.Spec{Version: spec.Version, Process: p, Linux: &specs.Linux{Seccomp: spec.Linux.Seccomp,
			MemoryPolicy: spec.Linux.MemoryPolicy, Personality: spec.Linux.Personality}})}
	// Compiled here: the process's rlimits are on before the filter loads.
	if ic.SeccompBPF, err = c.execSeccomp(ic.Spec); err != nil {
		return 0, err
	}
	if console != nil {
		ic.ConsoleFd = fdOf(console)
	}
	if rootFile != nil {
		ic.RootFd = fdOf(rootFile)
	}
	exeFd := fdOf(exe)
	cmd := initCmd(exeFd, sockFd, cfgFd, extra, o.Stdin, o.Stdout, o.Stderr)
	if err := system.CloseExecFrom(3); err != nil {
		return 0, fmt.Errorf("close fds: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start exec init: %w", err)
	}
	pid := 0
	defer func() {
		// On failure nothing we started may linger.
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	childSock.Close()
	cfgR.Close()
	for _, f := range nsFiles {
		f.Close()
	}
	nsFiles = nil
	if a := p.ExecCPUAffinity; a != nil && a.Initial != "" {
		if err := initialAffinity(cmd.Process.Pid, a.Initial); err != nil {
			return 0, err
		}
	}
	// The process joins the container's cgroup only when its set-up is
	// done (msgReady below): what the runtime allocates is not charged to
	// the container, whose limits may be far tighter.
	if pid, err = execBootstrap(sync, cmd, msg); err != nil {
		return 0, err
	}
	fail := func(err error) (int, error) {
		unix.Kill(pid, unix.SIGKILL)
		return 0, err
	}
	// Opened now, while the process waits for its config: it is ours
	// for sure, and the pidfd still works if it exits at once after exec.
	procFd := -1
	if pidfdSock != nil {
		if procFd, err = unix.PidfdOpen(pid, 0); err != nil {
			return fail(fmt.Errorf("pidfd of the process: %w", err))
		}
		defer unix.Close(procFd)
	}
	go ic.send(cfgW)
	// The init reports errors; its end of the socket closes (on exec) when
	// the process runs.
	l := &launcher{c: c, spec: ic.Spec, sync: sync}
	for {
		m, err := sync.recv()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, unix.ECONNRESET) {
				break
			}
			return fail(fmt.Errorf("read from exec init: %w", err))
		}
		switch m.Type {
		case msgError:
			return fail(errors.New(m.Error))
		case msgReady:
			if err := c.joinCgroup(pid, o.SubCgroup); err != nil {
				sync.send(syncMsg{Type: msgError, Error: err.Error()})
				return fail(err)
			}
			if err := sync.send(syncMsg{Type: msgAck}); err != nil {
				return fail(fmt.Errorf("write to exec init: %w", err))
			}
		case msgSeccomp:
			if err := l.forwardSeccomp(); err != nil {
				sync.send(syncMsg{Type: msgError, Error: err.Error()})
				return fail(err)
			}
			if err := sync.send(syncMsg{Type: msgAck}); err != nil {
				return fail(fmt.Errorf("write to exec init: %w", err))
			}
		default:
			return fail(fmt.Errorf("unexpected message %q from exec init", m.Type))
		}
	}
	if o.PidFile != "" {
		if err := writeFileAtomic(o.PidFile, []byte(strconv.Itoa(pid))); err != nil {
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

// execBootstrap sends nsexec.c the namespaces to join and learns the pid of
// the process (which is then our child if we are a subreaper).
func execBootstrap(sync syncSock, cmd *exec.Cmd, msg []byte) (int, error) {
	if _, err := sync.f.Write(msg); err != nil {
		return 0, fmt.Errorf("send bootstrap: %w", err)
	}
	buf := make([]byte, 4096)
	n, err := sync.f.Read(buf)
	cmd.Wait() // the intermediate process exits after its one reply
	if err != nil || n == 0 {
		return 0, errors.New("exec init exited while joining the namespaces")
	}
	reply := string(buf[:n])
	switch {
	case strings.HasPrefix(reply, "P "):
		pid, err := strconv.Atoi(reply[2:])
		if err != nil {
			return 0, fmt.Errorf("bad pid message %q", reply)
		}
		return pid, nil
	case strings.HasPrefix(reply, "E "):
		return 0, errors.New(reply[2:])
	}
	return 0, fmt.Errorf("unexpected bootstrap reply %q", reply)
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
			return fmt.Errorf("--cgroup: the container has no %s cgroup", ctrl)
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
		err := os.WriteFile(filepath.Join(target, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
		if err != nil && ctrl == "" && hybrid && target != dir {
			// On a hybrid host the cgroup2 placement is a courtesy: the
			// container's own, if the sub-cgroup exists only in v1.
			err = os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
		}
		if err == nil {
			continue
		}
		if (ctrl == "" && hybrid) || (c.state.RootlessCgroups && errors.Is(err, os.ErrPermission)) {
			slog.Warn("exec: cgroup skipped", "controller", ctrl, "error", err)
			continue
		}
		return fmt.Errorf("join cgroup %s: %w", target, errors.Unwrap(err))
	}
	return nil
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
				return nil, fmt.Errorf("invalid --cgroup %q: .. is not allowed", v)
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
// sha256 of linux.seccomp as JSON, then the program. Once a container has
// a compiled filter, exec skips libseccomp altogether.
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
	sum := sha256.Sum256(prof)
	path := filepath.Join(c.stateDirPath(), seccompCache)
	if data, err := os.ReadFile(path); err == nil && len(data) > len(sum) && bytes.Equal(data[:len(sum)], sum[:]) {
		return data[len(sum):], nil
	}
	bpf, err := compileSeccomp(s)
	if err != nil {
		return nil, err
	}
	// Best effort, and atomic: a unique temporary file renamed into place,
	// so a concurrent exec reads a whole program or none.
	if f, err := os.CreateTemp(c.stateDirPath(), seccompCache+".*"); err == nil {
		_, werr := f.Write(append(sum[:], bpf...))
		if cerr := f.Close(); werr != nil || cerr != nil || os.Rename(f.Name(), path) != nil {
			os.Remove(f.Name())
		}
	}
	return bpf, nil
}
