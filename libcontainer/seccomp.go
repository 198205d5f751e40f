package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/seccomp"
)

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

// forwardSeccomp sends the init's notify listener fd, with the
// container's state, to the seccomp agent (runtime-spec
// ContainerProcessState over SCM_RIGHTS).
func forwardSeccomp(fd int, sc *specs.LinuxSeccomp, st specs.State, pid int) error {
	if fd < 0 {
		return errors.New("no seccomp listener received")
	}
	if sc == nil || sc.ListenerPath == "" {
		return errors.New("seccomp listener sent but no listenerPath")
	}
	data, err := json.Marshal(specs.ContainerProcessState{Version: specs.Version, Fds: []string{specs.SeccompFdName},
		Pid: pid, Metadata: sc.ListenerMetadata, State: st})
	if err != nil {
		return err
	}
	conn, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(conn)
	if err := unix.Connect(conn, &unix.SockaddrUnix{Name: sc.ListenerPath}); err != nil {
		return fmt.Errorf("failed to connect with seccomp agent %s: %w", sc.ListenerPath, err)
	}
	if err := unix.Sendmsg(conn, data, unix.UnixRights(fd), nil, 0); err != nil {
		return fmt.Errorf("send to seccomp agent %s: %w", sc.ListenerPath, err)
	}
	return nil
}
