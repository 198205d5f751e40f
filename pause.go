package main

import (
	"github.com/urfave/cli/v2"

	"github.com/teu-runtime/teu/libcontainer"
)

var pauseCommand = &cli.Command{
	Name:      "pause",
	Usage:     "suspend all processes of a container",
	ArgsUsage: "<container-id>",
	Description: `Freezes every process of the container (its cgroup's freezer); the state
is then "paused" until resume.`,
	Action: func(c *cli.Context) error {
		return withContainer(c, (*libcontainer.Container).Pause)
	},
}

var resumeCommand = &cli.Command{
	Name:        "resume",
	Usage:       "resume all processes of a paused container",
	ArgsUsage:   "<container-id>",
	Description: `Thaws a container that pause suspended.`,
	Action: func(c *cli.Context) error {
		return withContainer(c, (*libcontainer.Container).Resume)
	},
}

// withContainer loads and locks the one container argument and calls f.
func withContainer(c *cli.Context, f func(*libcontainer.Container) error) error {
	if err := checkArgs(c, 1); err != nil {
		return err
	}
	id, err := containerID(c)
	if err != nil {
		return err
	}
	ct, err := libcontainer.Load(root(c), id)
	if err != nil {
		return err
	}
	defer ct.Close()
	return f(ct)
}
