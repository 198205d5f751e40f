package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer"
)

var killCommand = &cli.Command{
	Name:      "kill",
	Usage:     "send a signal to a container's init (or all its processes)",
	ArgsUsage: "<container-id> [signal]",
	Description: `Sends a signal, by name (KILL, SIGKILL) or number (9), to the container's
init; the default is SIGTERM.`,
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "send the signal to every process of the container"},
	},
	Action: func(c *cli.Context) error {
		if c.NArg() < 1 || c.NArg() > 2 {
			return fmt.Errorf("%q requires 1 or 2 arguments", c.Command.Name)
		}
		id, err := containerID(c)
		if err != nil {
			return err
		}
		sig := unix.SIGTERM
		if c.NArg() == 2 {
			if sig, err = libcontainer.ParseSignal(c.Args().Get(1)); err != nil {
				return err
			}
		}
		ct, err := libcontainer.LoadState(root(c), id)
		if err != nil {
			return err
		}
		return ct.Signal(sig, c.Bool("all"))
	},
}
