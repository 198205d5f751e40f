package main

import (
	"time"

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
		trace := tracer(c, id)
		t0 := time.Now()
		ct, err := libcontainer.Load(root(c), id)
		if err != nil {
			return err
		}
		defer ct.Close()
		if trace != nil {
			trace("load", time.Since(t0))
			t0 = time.Now()
		}
		err = ct.Start()
		if trace != nil {
			trace("start", time.Since(t0))
		}
		return err
	},
}
