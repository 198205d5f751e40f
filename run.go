package main

import (
	"errors"
	"io"
	"os"
	"os/signal"
	"sync"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer"
	"github.com/teu-runtime/teu/libcontainer/console"
)

var runCommand = &cli.Command{
	Name:      "run",
	Usage:     "create and start a container, and wait for it",
	ArgsUsage: "<container-id>",
	Description: `Creates and starts a container. Unless --detach is given, teu stays
attached: it forwards signals to the container, relays a terminal when
process.terminal is set, deletes the container when it exits and exits with
the container's status (128+N for a container killed by signal N).`,
	Flags: append([]cli.Flag{
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the container has started"},
		&cli.BoolFlag{Name: "keep", Usage: "do not delete the container after it exits"},
	}, createFlags...),
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1); err != nil {
			return err
		}
		opts, err := createOpts(c)
		if err != nil {
			return err
		}
		if c.Bool("detach") {
			ct, err := libcontainer.Create(root(c), opts)
			if err != nil {
				return err
			}
			defer ct.Close()
			if err := ct.Start(); err != nil {
				ct.Delete(true)
				return err
			}
			return nil
		}
		return runAttached(c, opts)
	},
}

func runAttached(c *cli.Context, opts *libcontainer.CreateOpts) error {
	// The init is the grandchild of this process; as a subreaper we get it
	// as a child when its parent exits, and can wait for it.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return err
	}
	sigc := make(chan os.Signal, 128)
	signal.Notify(sigc)
	defer signal.Stop(sigc)

	var tty *ttyRelay
	if opts.Spec.Process.Terminal && opts.ConsoleSocket == "" {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		ours := os.NewFile(uintptr(fds[0]), "console-ours")
		theirs := os.NewFile(uintptr(fds[1]), "console-theirs")
		defer ours.Close()
		opts.ConsoleConn = theirs
		tty = &ttyRelay{sock: ours}
	}
	ct, err := libcontainer.Create(root(c), opts)
	if opts.ConsoleConn != nil {
		opts.ConsoleConn.Close()
	}
	if err != nil {
		return err
	}
	id := ct.ID()
	// Once started, the container is not ours alone: kill, state and
	// delete from other teu processes must not wait for our lock.
	destroy := func() {
		if c.Bool("keep") {
			return
		}
		if ct, err := libcontainer.Load(root(c), id); err == nil {
			ct.Delete(true)
			ct.Close()
		}
	}
	if tty != nil {
		if err := tty.attach(); err != nil {
			ct.Delete(true)
			ct.Close()
			return err
		}
		defer tty.restore()
	}
	if err := ct.Start(); err != nil {
		ct.Delete(true)
		ct.Close()
		return err
	}
	initPid := ct.State().InitPid
	ct.Close()
	for sig := range sigc {
		switch sig {
		case unix.SIGURG: // the Go runtime's own preemption signal
		case unix.SIGWINCH:
			tty.resize()
		case unix.SIGCHLD:
			for {
				var ws unix.WaitStatus
				pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
				if err != nil || pid <= 0 {
					break
				}
				if pid == initPid {
					tty.drain()
					destroy()
					code := ws.ExitStatus()
					if ws.Signaled() {
						code = 128 + int(ws.Signal())
					}
					if code != 0 {
						return exitError{code}
					}
					return nil
				}
			}
		default:
			ct.Signal(sig.(unix.Signal), false)
		}
	}
	return errors.New("signal channel closed")
}

// ttyRelay copies between our stdio and the container's pty master when
// `run` stays attached to a terminal container.
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
// every holder of the pty peer has exited.
func (t *ttyRelay) drain() {
	if t != nil && t.master != nil {
		t.out.Wait()
	}
}
