package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/seccomp"
)

// msgSeccomp (init → parent) announces the seccomp notify listener, which
// follows in a message of its own as SCM_RIGHTS; the parent hands it to
// the agent at linux.seccomp.listenerPath and answers msgAck.
const msgSeccomp = "seccomp"

// When init loads the seccomp filter, from the earliest point to the
// latest. The filter goes on as late as possible, so that teu's own
// syscalls need not be in the profile, but:
//   - without no_new_privs, loading needs CAP_SYS_ADMIN, which the switch
//     to the process's user and capabilities may take away: load before it;
//   - a notify listener must reach the parent while the sync socket is
//     still open, before init reports ready;
//   - otherwise right before exec, after exec.fifo and startContainer hooks.
const (
	seccompBeforeCredentials = iota
	seccompBeforeReady
	seccompBeforeExec
)

func seccompPoint(s *specs.Spec) int {
	switch {
	case !s.Process.NoNewPrivileges:
		return seccompBeforeCredentials
	case seccomp.HasNotify(s.Linux.Seccomp):
		return seccompBeforeReady
	default:
		return seccompBeforeExec
	}
}

// seccompProgram is the filter the parent compiled for this init, if it
// sent one: the init then needs no libseccomp work of its own.
var seccompProgram []unix.SockFilter

// compileSeccomp compiles the container's filter in the parent.
func compileSeccomp(s *specs.Spec) ([]byte, error) {
	if s.Linux == nil || s.Linux.Seccomp == nil {
		return nil, nil
	}
	prog, err := seccomp.Program(s.Linux.Seccomp, true)
	if err != nil {
		return nil, err
	}
	return seccomp.Encode(prog), nil
}

// initSeccomp loads the container's seccomp filter on this thread if point
// is when it goes on, and passes a notify listener to the parent.
func initSeccomp(s *specs.Spec, sync syncSock, point int) error {
	if s.Linux.Seccomp == nil || seccompPoint(s) != point {
		return nil
	}
	prog := seccompProgram
	if prog == nil {
		var err error
		if prog, err = seccomp.Program(s.Linux.Seccomp, false); err != nil {
			return err
		}
	}
	// The exact rlimits go on right before execve, after the filter, if
	// the filter lets prlimit64 through; else now, while we still can.
	if !filterAllowsRlimits(prog) {
		if err := lowerRlimits(); err != nil {
			return err
		}
	}
	fd, err := seccomp.LoadProgram(prog, s.Linux.Seccomp)
	if err != nil {
		return err
	}
	if fd < 0 {
		return nil
	}
	defer unix.Close(fd)
	if err := sync.send(syncMsg{Type: msgSeccomp}); err != nil {
		return err
	}
	if err := unix.Sendmsg(int(sync.f.Fd()), []byte{0}, unix.UnixRights(fd), nil, 0); err != nil {
		return fmt.Errorf("send seccomp listener: %w", err)
	}
	m, err := sync.recv()
	if err == nil && m.Type != msgAck {
		err = errors.New(m.Error)
	}
	if err != nil {
		return fmt.Errorf("seccomp agent: %w", err)
	}
	return nil
}

// forwardSeccomp receives init's notify listener and sends it, with the
// container's state, to the seccomp agent (runtime-spec
// ContainerProcessState over SCM_RIGHTS).
func (l *launcher) forwardSeccomp() error {
	fd, err := recvFd(l.sync.f)
	if err != nil {
		return fmt.Errorf("receive seccomp listener: %w", err)
	}
	defer unix.Close(fd)
	sc := l.spec.Linux.Seccomp
	if sc == nil || sc.ListenerPath == "" {
		return errors.New("seccomp listener sent but no listenerPath")
	}
	st := l.c.OCIState()
	st.Status = specs.StateCreating
	data, err := json.Marshal(specs.ContainerProcessState{Version: specs.Version, Fds: []string{specs.SeccompFdName},
		Pid: l.c.state.InitPid, Metadata: sc.ListenerMetadata, State: st})
	if err != nil {
		return err
	}
	conn, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(conn)
	if err := unix.Connect(conn, &unix.SockaddrUnix{Name: sc.ListenerPath}); err != nil {
		return fmt.Errorf("connect to seccomp agent %s: %w", sc.ListenerPath, err)
	}
	if err := unix.Sendmsg(conn, data, unix.UnixRights(fd), nil, 0); err != nil {
		return fmt.Errorf("send to seccomp agent %s: %w", sc.ListenerPath, err)
	}
	return nil
}

// recvFd reads one message carrying one fd from a sync socket.
func recvFd(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return -1, err
	}
	buf := make([]byte, 16)
	oob := make([]byte, unix.CmsgSpace(4))
	var oobn int
	var rerr error
	if err := rc.Read(func(fd uintptr) bool {
		_, oobn, _, _, rerr = unix.Recvmsg(int(fd), buf, oob, unix.MSG_CMSG_CLOEXEC)
		return rerr != unix.EAGAIN
	}); err != nil {
		return -1, err
	}
	if rerr != nil {
		return -1, rerr
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return -1, err
	}
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			return -1, err
		}
		for _, extra := range fds[min(1, len(fds)):] {
			unix.Close(extra)
		}
		if len(fds) > 0 {
			return fds[0], nil
		}
	}
	return -1, errors.New("no fd in message")
}
