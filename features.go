package main

import (
	"encoding/json"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/teu-runtime/teu/libcontainer"
)

var featuresCommand = &cli.Command{
	Name:  "features",
	Usage: "print what this teu supports, as runtime-spec's features JSON",
	Description: `Prints the runtime-spec features document: the OCI versions, hooks,
mount options, namespaces, capabilities, cgroup drivers, seccomp actions,
operators, architectures and flags (knownFlags: accepted; supportedFlags:
also accepted by the running kernel), memory policy modes and flags, and
whether netDevices and intelRdt are implemented.`,
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 0); err != nil {
			return err
		}
		ann := map[string]string{"org.teu-runtime.version": version}
		if commit != "" {
			ann["org.teu-runtime.commit"] = commit
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "    ")
		return enc.Encode(libcontainer.Features(ann))
	},
}
