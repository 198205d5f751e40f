package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/teu-runtime/teu/libcontainer"
	"github.com/teu-runtime/teu/libcontainer/state"
)

// planCommand prints the plan create would run: hidden, for people
// debugging a config and for golden tests (docs/plan.md).
var planCommand = &cli.Command{
	Name:      "plan",
	Usage:     "print the plan the container's init would run (nothing is created)",
	ArgsUsage: "[<container-id>]",
	Hidden:    true,
	Flags:     createFlags,
	Action: func(c *cli.Context) error {
		id := c.Args().First()
		if id == "" {
			id = "plan"
		}
		if err := state.ValidateID(id); err != nil {
			return err
		}
		bundle, err := bundlePath(c)
		if err != nil {
			return err
		}
		spec, err := loadSpec(bundle)
		if err != nil {
			return err
		}
		opts := &libcontainer.CreateOpts{ID: id, Bundle: bundle, Spec: spec, NoPivot: c.Bool("no-pivot"),
			NoNewKeyring: c.Bool("no-new-keyring"), PreserveFds: int(c.Uint("preserve-fds"))}
		out, err := libcontainer.PlanListing(opts)
		if err != nil {
			return err
		}
		fmt.Print(out)
		return nil
	},
}
