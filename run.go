package main

import (
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer"
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
			sw := newStopwatch(c, opts.ID)
			if err := ct.Start(); err != nil {
				ct.Delete(true)
				return err
			}
			sw.lap("start")
			return nil
		}
		return runAttached(c, opts)
	},
}

func runAttached(c *cli.Context, opts *libcontainer.CreateOpts) error {
	a, err := attach(opts.Spec.Process.Terminal && opts.ConsoleSocket == "")
	if err != nil {
		return err
	}
	defer a.close()
	ct, err := a.launch(func(conn *os.File) (*libcontainer.Container, error) {
		if conn != nil {
			opts.ConsoleConn = conn
		}
		return libcontainer.Create(root(c), opts)
	})
	if err != nil {
		return err
	}
	id := ct.ID()
	sw := newStopwatch(c, id)
	if err := ct.Start(); err != nil {
		ct.Delete(true)
		ct.Close()
		return err
	}
	sw.lap("start")
	initPid := ct.State().InitPid
	// Once started, the container is not ours alone: kill, state and
	// delete from other teu processes must not wait for our lock.
	ct.Close()
	code, err := a.wait(initPid, func(sig unix.Signal) { ct.Signal(sig, false) }, 0)
	if err != nil {
		return err
	}
	sw.lap("wait")
	if !c.Bool("keep") {
		if ct, err := libcontainer.Load(root(c), id); err == nil {
			ct.Delete(true)
			ct.Close()
		}
		sw.lap("delete")
	}
	if code != 0 {
		return exitError{code}
	}
	return nil
}
