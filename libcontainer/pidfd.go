package libcontainer

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/system"
)

// --pidfd-socket hands the engine a pidfd of the container's init (create,
// run) or of an exec'd process, so it can wait for and signal exactly that
// process with no pid-reuse race. The protocol is runc's (1.2): one message
// on a connected AF_UNIX stream socket, the fd as SCM_RIGHTS and a body
// naming the kind of process. teu sends it from the parent, so no extra fd
// ever enters the container, and only once the process is set up: a failed
// create or exec sends nothing.
const (
	pidfdKindInit = "standard"
	pidfdKindExec = "setns"
)

// dialUnix connects to the engine's socket at path; what names the flag in
// errors.
func dialUnix(path, what string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("connect to %s %s: %w", what, path, err)
	}
	return os.NewFile(uintptr(fd), what), nil
}

// sendPidfd sends pidfd over sock with kind as the message body.
func sendPidfd(sock *os.File, kind string, pidfd int) error {
	if err := unix.Sendmsg(int(sock.Fd()), []byte(kind), unix.UnixRights(pidfd), nil, 0); err != nil {
		return fmt.Errorf("send pidfd on pidfd socket: %w", err)
	}
	return nil
}

// sendInitPidfd sends a pidfd of the init, which sits on exec.fifo now.
func (l *launcher) sendInitPidfd(sock *os.File) error {
	fd, err := system.PidFD(l.c.state.InitPid, l.c.state.InitStartTime)
	if err != nil {
		return fmt.Errorf("pidfd of the container's init: %w", err)
	}
	defer unix.Close(fd)
	return sendPidfd(sock, pidfdKindInit, fd)
}
