package main

import (
	"github.com/urfave/cli/v2"

	"github.com/teu-runtime/teu/libcontainer"
)

var startCommand = &cli.Command{
	Name:        "start",
	Usage:       "start the user's process in a created container",
	ArgsUsage:   "<container-id>",
	Description: `Releases a created container's init to exec the process of config.json.`,
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1); err != nil {
			return err
		}
		id, err := containerID(c)
		if err != nil {
			return err
		}
		sw := newStopwatch(c, id)
		ct, err := libcontainer.Load(root(c), id)
		if err != nil {
			return err
		}
		defer ct.Close()
		sw.lap("load")
		err = ct.Start()
		sw.lap("start")
		return err
	},
}
