package libcontainer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/plan"
	"github.com/teu-runtime/teu/libcontainer/system"
	"github.com/teu-runtime/teu/nsenter"
)

// spawn is the one way teu starts a process in a container, for create
// and for exec: it re-executes teu through its sealed handle as `teu init`,
// whose C constructor (nsenter/) runs the plan this side compiles, sends
// the plan in parts over a pipe, and answers the executor's messages on a
// sync socket (libcontainer/plan/msg.go has the protocol).
type spawn struct {
	b     plan.Builder
	cmd   *exec.Cmd
	sync  *os.File // our end of the sync socket
	child *os.File // its end, until start
	planR *os.File // the plan pipe, its end until start
	planW *os.File
	extra []*os.File // the child's fds from 3 on
	keep  []*os.File // closed with the spawn
	// Pid is the executor after its fork (the init, exec's process).
	Pid int
	// NoFork: the executor is the init (initplan.BootOpts.NoFork), made
	// with Cloneflags; there is no intermediate to release.
	NoFork     bool
	Cloneflags uintptr
	// Timings receives how long each step took, when the plan asks for
	// them (OpTimings): first is the index of the first step.
	Timings func(first int, us []uint32)
	// queued: the handler added the steps of a part, to be sent once the
	// executor has its answer (it reads the part after it: a part bigger
	// than the pipe must not wait on an answer never sent).
	queued bool
}

// queue marks the steps added since the last part for sending.
func (sp *spawn) queue() { sp.queued = true }

// newSpawn prepares a spawn passing preserved as the child's fds 3.. (a nil
// entry: nothing at that number).
func newSpawn(preserved []*os.File) (*spawn, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	sp := &spawn{sync: os.NewFile(uintptr(fds[0]), "sync"), child: os.NewFile(uintptr(fds[1]), "sync-child")}
	if sp.planR, sp.planW, err = os.Pipe(); err != nil {
		sp.close()
		return nil, err
	}
	sp.extra = append(sp.extra, preserved...)
	return sp, nil
}

// fd passes f to the child and returns its number there.
func (sp *spawn) fd(f *os.File) int {
	sp.extra = append(sp.extra, f)
	return 2 + len(sp.extra)
}

// adopt adds a step taking the child's fd n into a slot of the plan.
func (sp *spawn) adopt(n int, what string) int {
	s := sp.b.Slot()
	sp.b.Add("take "+what, plan.OpAdopt, plan.Int(int64(s)), plan.Int(int64(n)))
	return s
}

// start runs `teu init` from exe with the given stdio. The caller's own
// fds are made close-on-exec first: Go passes on every fd we inherited
// without it, and only stdio and the files given (the preserved ones
// among them) may reach the child.
func (sp *spawn) start(exe *os.File, stdin, stdout, stderr *os.File) error {
	sockFd := sp.fd(sp.child)
	planFd := sp.fd(sp.planR)
	exeFd := sp.fd(exe)
	or := func(f, def *os.File) *os.File {
		if f != nil {
			return f
		}
		return def
	}
	sp.cmd = &exec.Cmd{
		Path:       "/proc/self/fd/" + strconv.Itoa(exeFd),
		Args:       []string{"teu", "init"},
		Env:        []string{nsenter.EnvInitSock + "=" + strconv.Itoa(sockFd), nsenter.EnvInitPlan + "=" + strconv.Itoa(planFd)},
		Stdin:      or(stdin, os.Stdin),
		Stdout:     or(stdout, os.Stdout),
		Stderr:     or(stderr, os.Stderr),
		ExtraFiles: sp.extra,
		Dir:        "/",
	}
	if sp.Cloneflags != 0 {
		sp.cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: sp.Cloneflags}
	}
	if err := system.CloseExecFrom(3); err != nil {
		return fmt.Errorf("close fds: %w", err)
	}
	if err := sp.cmd.Start(); err != nil {
		var errno syscall.Errno
		if sp.Cloneflags&unix.CLONE_NEWPID != 0 && errors.As(err, &errno) {
			// As the executor's unshare step would have said it.
			return fmt.Errorf("unshare namespaces pid: %w", errno)
		}
		return fmt.Errorf("start init: %w", err)
	}
	sp.child.Close()
	sp.planR.Close()
	sp.child, sp.planR = nil, nil
	return nil
}

// send cuts the steps added since the last part and writes them.
func (sp *spawn) send() error {
	if err := sp.b.Err(); err != nil {
		return err
	}
	part := sp.b.Cut()
	data, err := part.Encode()
	if err != nil {
		return err
	}
	if _, err := sp.planW.Write(data); err != nil {
		return fmt.Errorf("send plan: %w", err)
	}
	return nil
}

// reply tells the executor to go on.
func (sp *spawn) reply() error {
	m := plan.Msg{Type: plan.MsgOK}
	if _, err := sp.sync.Write(m.Encode()); err != nil {
		return fmt.Errorf("write to init: %w", err)
	}
	return nil
}

// errDone ends run: the handler got what it waited for.
var errDone = errors.New("done")

// run reads the executor's messages until the handler returns errDone
// (nil error from run), an error, or the socket closes (io.EOF). The
// handler gets each MsgPid, MsgSync and MsgFd (with the fd, which it
// owns, or -1); after a MsgSync or MsgFd it handled, run answers MsgOK,
// then sends the part the handler queued, if any. Failures the executor
// reports come back as errors naming the step.
func (sp *spawn) run(handle func(m plan.Msg, fd int) error) error {
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4))
	for {
		n, oobn, _, _, err := unix.Recvmsg(int(sp.sync.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			if errors.Is(err, unix.ECONNRESET) {
				return io.EOF
			}
			return fmt.Errorf("read from init: %w", err)
		}
		fd := -1
		if oobn > 0 {
			if fd, err = parseRights(oob[:oobn]); err != nil {
				return err
			}
		}
		if n == 0 && oobn == 0 {
			return io.EOF
		}
		m, err := plan.DecodeMsg(buf[:n])
		if err != nil {
			if fd >= 0 {
				unix.Close(fd)
			}
			return fmt.Errorf("from init: %w", err)
		}
		switch m.Type {
		case plan.MsgError:
			return errors.New(sp.b.Describe(int(m.A), int(m.B), string(m.Payload)))
		case plan.MsgTimings:
			if sp.Timings != nil {
				sp.Timings(int(m.A), plan.Timings(m.Payload))
			}
			continue
		case plan.MsgPid:
			sp.Pid = int(m.A)
		case plan.MsgSync, plan.MsgFd:
		default:
			return fmt.Errorf("unexpected message %d from init", m.Type)
		}
		err = handle(m, fd)
		if errors.Is(err, errDone) {
			return nil
		}
		if err != nil {
			return err
		}
		// TagReady gets no answer; TagInit's handler answers before it
		// sends the part the executor reads next.
		if m.Type != plan.MsgPid && !(m.Type == plan.MsgSync && (m.A == plan.TagReady || m.A == plan.TagInit)) {
			if err := sp.reply(); err != nil {
				return err
			}
		}
		if sp.queued {
			sp.queued = false
			if err := sp.send(); err != nil {
				return err
			}
		}
	}
}

func parseRights(oob []byte) (int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return -1, err
	}
	fd := -1
	for _, cm := range msgs {
		fds, err := unix.ParseUnixRights(&cm)
		if err != nil {
			continue
		}
		for _, f := range fds {
			if fd < 0 {
				fd = f
			} else {
				unix.Close(f)
			}
		}
	}
	return fd, nil
}

// release lets the executor go once the process it forked is recorded.
// After its fork the executor waits for that child (nsenter's fork_step),
// so that a parent killed before it recorded the child leaves a process
// whose exit says the child is gone too. It is killed and reaped; its
// child is then ours (we are its subreaper) or init's. With NoFork the
// executor is the init: nothing to release.
func (sp *spawn) release() {
	if !sp.NoFork && sp.cmd.ProcessState == nil {
		sp.cmd.Process.Kill()
		sp.cmd.Wait()
	}
}

// close releases what the spawn holds (not the process).
func (sp *spawn) close() {
	for _, f := range append([]*os.File{sp.sync, sp.child, sp.planR, sp.planW}, sp.keep...) {
		if f != nil {
			f.Close()
		}
	}
}
