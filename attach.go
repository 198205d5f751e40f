package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer"
	"github.com/teu-runtime/teu/libcontainer/console"
)

// What `run` and `exec` share when they stay attached to the process they
// started: they become its subreaper (it is their grandchild; nsexec.c's
// intermediate process exits), forward signals to it, relay its terminal
// and exit with its status.

// attachment is an attached command's signal channel and, with a terminal
// and no --console-socket, its tty relay.
type attachment struct {
	sigc chan os.Signal
	tty  *ttyRelay
	// theirs is the socket end that goes to the init as its console
	// connection (nil without a relay); close it once the init has it.
	theirs *os.File
}

// attach makes us a subreaper and catches every signal; with relayTTY it
// also makes the socket pair on which the init sends its pty master.
func attach(relayTTY bool) (*attachment, error) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return nil, err
	}
	a := &attachment{sigc: make(chan os.Signal, 128)}
	signal.Notify(a.sigc)
	if relayTTY {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			a.close()
			return nil, err
		}
		a.tty = &ttyRelay{sock: os.NewFile(uintptr(fds[0]), "console-ours")}
		a.theirs = os.NewFile(uintptr(fds[1]), "console-theirs")
	}
	return a, nil
}

// close restores the terminal and closes sockets. Signals stay caught
// until teu exits, as in runc: one that comes while `run` deletes the
// container must not kill teu half-way, and the Go runtime un-catches
// each signal with a round trip to a thread of its own (~3 ms of a
// `run`'s CPU for the ~60 caught).
func (a *attachment) close() {
	if a.theirs != nil {
		a.theirs.Close()
	}
	if a.tty != nil {
		if a.tty.restore != nil {
			a.tty.restore()
		}
		a.tty.sock.Close()
	}
}

// launch makes the container (create or restore) with our end of the
// console socket as its console connection, if we relay its terminal, then
// attaches the terminal; a container whose terminal cannot be attached is
// deleted.
func (a *attachment) launch(mk func(conn *os.File) (*libcontainer.Container, error)) (*libcontainer.Container, error) {
	ct, err := mk(a.theirs)
	if a.theirs != nil {
		a.theirs.Close()
		a.theirs = nil
	}
	if err != nil {
		return nil, err
	}
	if a.tty != nil {
		if err := a.tty.attach(); err != nil {
			ct.Delete(true)
			ct.Close()
			return nil, err
		}
	}
	return ct, nil
}

// wait forwards signals with send until pid, our child, exits; it returns
// the exit status, 128+N for a process killed by signal N. The terminal's
// last output is relayed first, waiting at most drainLimit (0: until every
// holder of the pty is gone) for it.
func (a *attachment) wait(pid int, send func(unix.Signal), drainLimit time.Duration) (int, error) {
	for sig := range a.sigc {
		switch sig {
		case unix.SIGURG: // the Go runtime's own preemption signal
		case unix.SIGWINCH:
			a.tty.resize()
		case unix.SIGCHLD:
			for {
				var ws unix.WaitStatus
				p, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
				if err != nil || p <= 0 {
					break
				}
				if p == pid {
					a.tty.drain(drainLimit)
					if ws.Signaled() {
						return 128 + int(ws.Signal()), nil
					}
					return ws.ExitStatus(), nil
				}
			}
		default:
			send(sig.(unix.Signal))
		}
	}
	return 0, errors.New("signal channel closed")
}

// ttyRelay copies between our stdio and the container's pty master when
// `run` or `exec` stays attached to a terminal process.
type ttyRelay struct {
	sock    *os.File
	master  *os.File
	restore func()
	out     sync.WaitGroup
}

func (t *ttyRelay) attach() error {
	m, err := console.RecvFd(t.sock)
	if err != nil {
		return err
	}
	t.master = m
	// As runc: no "\n" to "\r\n" on the container's output, which we
	// relay to a caller that may not be a terminal at all.
	if err := console.ClearONLCR(m); err != nil {
		return fmt.Errorf("clear ONLCR on the pty: %w", err)
	}
	t.restore = func() {}
	if console.IsTerminal(os.Stdin) {
		console.CopySize(os.Stdin, m)
		if r, err := console.MakeRaw(os.Stdin); err == nil {
			t.restore = r
		}
	}
	go io.Copy(m, os.Stdin)
	t.out.Add(1)
	go func() {
		defer t.out.Done()
		io.Copy(os.Stdout, m)
	}()
	return nil
}

func (t *ttyRelay) resize() {
	if t != nil && t.master != nil && console.IsTerminal(os.Stdin) {
		console.CopySize(os.Stdin, t.master)
	}
}

// drain waits for the container's last output: the master reads EIO once
// every holder of the pty peer has exited; limit > 0 bounds the wait (an
// exec'd process may leave a background child holding the pty).
func (t *ttyRelay) drain(limit time.Duration) {
	if t == nil || t.master == nil {
		return
	}
	if limit <= 0 {
		t.out.Wait()
		return
	}
	done := make(chan struct{})
	go func() { t.out.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(limit):
	}
}
