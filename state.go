package main

import (
	"encoding/json"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/teu-runtime/teu/libcontainer"
)

// containerState is runc's `state` output, field for field.
type containerState struct {
	Version        string            `json:"ociVersion"`
	ID             string            `json:"id"`
	InitProcessPid int               `json:"pid"`
	Status         string            `json:"status"`
	Bundle         string            `json:"bundle"`
	Rootfs         string            `json:"rootfs"`
	Created        time.Time         `json:"created"`
	Annotations    map[string]string `json:"annotations,omitempty"`
	Owner          string            `json:"owner"`
}

func stateOf(ct *libcontainer.Container) containerState {
	s := ct.State()
	oci := ct.OCIState()
	return containerState{
		Version: oci.Version, ID: s.ID, InitProcessPid: oci.Pid, Status: string(oci.Status),
		Bundle: s.Bundle, Rootfs: s.Rootfs, Created: s.Created, Annotations: s.Annotations, Owner: s.Owner,
	}
}

var stateCommand = &cli.Command{
	Name:        "state",
	Usage:       "print the state of a container as JSON",
	ArgsUsage:   "<container-id>",
	Description: `Prints the container's state: ociVersion, id, pid, status, bundle, rootfs, created, owner and annotations.`,
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1); err != nil {
			return err
		}
		id, err := containerID(c)
		if err != nil {
			return err
		}
		ct, err := libcontainer.LoadState(root(c), id)
		if err != nil {
			return err
		}
		data, err := json.MarshalIndent(stateOf(ct), "", "  ")
		if err != nil {
			return err
		}
		os.Stdout.Write(append(data, '\n'))
		return nil
	},
}
