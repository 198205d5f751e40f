// Package criu talks to CRIU over its RPC: it starts `criu swrk`, sends one
// request (go-criu's generated rpc messages), answers CRIU's notifications
// and returns the final response. It knows nothing of containers.
//
// It is not go-criu's client because restore needs what that client does
// not expose: CRIU's pid before the request is sent (the caller moves CRIU
// into the container's cgroup), the fds CRIU passes with a notification
// (orphan-pts-master), and CRIU's stdio and extra fds (inherited pipes and
// namespaces).
package criu

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/checkpoint-restore/go-criu/v8/rpc"
	"golang.org/x/sys/unix"
)

// maxMsg bounds one RPC message (CRIU's own limit for a response).
const maxMsg = 10 * 4096

// Swrk is a running `criu swrk` and our end of its RPC socket.
type Swrk struct {
	cmd  *exec.Cmd
	sock int
	done bool
}

// Start runs `criu swrk 3` from path with stdio (nil: /dev/null) and extra
// files as fds 4, 5, ...; it returns once CRIU runs, before any request.
// start, if set, starts the command instead of cmd.Start (the caller may
// need it started from a particular thread).
func Start(path string, stdio [3]*os.File, extra []*os.File, start func(*exec.Cmd) error) (*Swrk, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("criu socket: %w", err)
	}
	theirs := os.NewFile(uintptr(fds[1]), "criu-swrk")
	defer theirs.Close()
	cmd := exec.Command(path, "swrk", "3")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdio[0], stdio[1], stdio[2]
	cmd.ExtraFiles = append([]*os.File{theirs}, extra...)
	if start == nil {
		start = (*exec.Cmd).Start
	}
	if err := start(cmd); err != nil {
		unix.Close(fds[0])
		return nil, fmt.Errorf("start criu: %w", err)
	}
	return &Swrk{cmd: cmd, sock: fds[0]}, nil
}

// Pid is CRIU's pid.
func (s *Swrk) Pid() int { return s.cmd.Process.Pid }

// Notification is one of CRIU's notifications: its script name ("post-dump",
// "setup-namespaces", "post-restore", "orphan-pts-master", ...), the pid it
// names (restore) and the fds passed with it, which the handler owns.
type Notification struct {
	Script string
	Pid    int
	Fds    []int
}

// Failure is CRIU's answer that a request failed.
type Failure struct {
	Type  rpc.CriuReqType
	Errno int32
	Msg   string
}

func (f *Failure) Error() string {
	s := "criu " + reqName(f.Type) + " failed"
	if f.Msg != "" {
		s += ": " + strings.TrimSpace(f.Msg)
	}
	if f.Errno != 0 {
		s += ": " + unix.Errno(f.Errno).Error()
	}
	return s
}

// NotifyError is the caller's failure to handle a notification: the
// request is abandoned (CRIU undoes its work when the socket closes).
type NotifyError struct {
	Script string
	Err    error
}

func (e *NotifyError) Error() string { return e.Script + ": " + e.Err.Error() }
func (e *NotifyError) Unwrap() error { return e.Err }

// ErrEOF: CRIU closed the socket without answering (it died, or could not
// start its work).
var ErrEOF = errors.New("criu exited without an answer")

// Do sends req and runs notify for each notification until CRIU answers
// req; a notify error is returned at once (CRIU then gives up when the
// socket closes). A response that reports failure is a *Failure.
func (s *Swrk) Do(req *rpc.CriuReq, notify func(*Notification) error) (*rpc.CriuResp, error) {
	data, err := req.MarshalVT()
	if err != nil {
		return nil, err
	}
	if err := s.send(data); err != nil {
		return nil, err
	}
	buf := make([]byte, maxMsg)
	oob := make([]byte, unix.CmsgSpace(4*16))
	for {
		n, oobn, _, _, err := unix.Recvmsg(s.sock, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("criu socket: %w", err)
		}
		if n == 0 {
			return nil, ErrEOF
		}
		fds, err := parseRights(oob[:oobn])
		if err != nil {
			return nil, err
		}
		resp := &rpc.CriuResp{}
		if err := resp.UnmarshalVT(buf[:n]); err != nil {
			closeAll(fds)
			return nil, fmt.Errorf("criu answer: %w", err)
		}
		if !resp.GetSuccess() {
			closeAll(fds)
			return resp, &Failure{Type: resp.GetType(), Errno: resp.GetCrErrno(), Msg: resp.GetCrErrmsg()}
		}
		if resp.GetType() != rpc.CriuReqType_NOTIFY {
			closeAll(fds)
			return resp, nil
		}
		nt := resp.GetNotify()
		ev := &Notification{Script: nt.GetScript(), Pid: int(nt.GetPid()), Fds: fds}
		if notify != nil {
			if err := notify(ev); err != nil {
				return nil, &NotifyError{Script: ev.Script, Err: err}
			}
		} else {
			closeAll(fds)
		}
		t := rpc.CriuReqType_NOTIFY
		ok := true
		ack, err := (&rpc.CriuReq{Type: &t, NotifySuccess: &ok}).MarshalVT()
		if err != nil {
			return nil, err
		}
		if err := s.send(ack); err != nil {
			return nil, err
		}
	}
}

func (s *Swrk) send(data []byte) error {
	for {
		_, err := unix.Write(s.sock, data)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("criu socket: %w", err)
		}
		return nil
	}
}

// Close hangs up and waits for CRIU. After a pre-dump CRIU waits for more
// requests and exits non-zero when we hang up: callers judge by Do's
// answer, the exit status is for when there was none.
func (s *Swrk) Close() error {
	if s.done {
		return nil
	}
	s.done = true
	unix.Close(s.sock)
	return s.cmd.Wait()
}

func parseRights(oob []byte) ([]int, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("criu socket: %w", err)
	}
	var fds []int
	for i := range msgs {
		if got, err := unix.ParseUnixRights(&msgs[i]); err == nil {
			fds = append(fds, got...)
		}
	}
	return fds, nil
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

func reqName(t rpc.CriuReqType) string {
	switch t {
	case rpc.CriuReqType_DUMP:
		return "dump"
	case rpc.CriuReqType_PRE_DUMP:
		return "pre-dump"
	case rpc.CriuReqType_RESTORE:
		return "restore"
	case rpc.CriuReqType_VERSION:
		return "version"
	case rpc.CriuReqType_FEATURE_CHECK:
		return "feature check"
	}
	return "request " + strconv.Itoa(int(t))
}

// run sends one request to a fresh CRIU and waits for it to exit.
func run(path string, req *rpc.CriuReq) (*rpc.CriuResp, error) {
	s, err := Start(path, [3]*os.File{}, nil, nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.Do(req, nil)
	werr := s.Close()
	if err == nil && resp == nil {
		err = werr
	}
	return resp, err
}

// Version asks CRIU at path for its version, as major*10000 + minor*100 +
// sublevel (a development build counts as the next minor, as runc has it).
func Version(path string) (int, error) {
	t := rpc.CriuReqType_VERSION
	resp, err := run(path, &rpc.CriuReq{Type: &t})
	if err != nil {
		return 0, fmt.Errorf("criu version: %w", err)
	}
	v := resp.GetVersion()
	if v == nil {
		return 0, errors.New("criu version: no version in the answer")
	}
	n := int(v.GetMajorNumber())*10000 + int(v.GetMinorNumber())*100 + int(v.GetSublevel())
	if v.GetGitid() != "" {
		n = n - n%100 + 100
	}
	return n, nil
}

// Features asks CRIU which of want it supports; it returns the answer.
func Features(path string, want *rpc.CriuFeatures) (*rpc.CriuFeatures, error) {
	t := rpc.CriuReqType_FEATURE_CHECK
	resp, err := run(path, &rpc.CriuReq{Type: &t, Features: want})
	if err != nil {
		return nil, err
	}
	return resp.GetFeatures(), nil
}
