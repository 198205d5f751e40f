package main

import (
	"github.com/urfave/cli/v2"

	"github.com/teu-runtime/teu/libcontainer"
)

var deleteCommand = &cli.Command{
	Name:      "delete",
	Usage:     "delete a container and what it holds",
	ArgsUsage: "<container-id>",
	Description: `Deletes a stopped container. A created or running one is refused, as
runtime-spec asks (runc and crun delete a created one); with --force it is
killed first. --force also succeeds when there is nothing to delete, and
deletes a container whose state.json is damaged by what its
resources.json records (docs/crash-safety.md).`,
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill the container first if it is created or running"},
	},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1); err != nil {
			return err
		}
		id, err := containerID(c)
		if err != nil {
			return err
		}
		sw := newStopwatch(c, id)
		if c.Bool("force") {
			err := libcontainer.DeleteForce(root(c), id)
			sw.lap("delete")
			return err
		}
		ct, err := libcontainer.Load(root(c), id)
		if err != nil {
			return err
		}
		defer ct.Close()
		sw.lap("load")
		err = ct.Delete(false)
		sw.lap("delete")
		return err
	},
}
