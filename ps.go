package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/teu-runtime/teu/libcontainer"
)

var psCommand = &cli.Command{
	Name:      "ps",
	Usage:     "list the processes of a container",
	ArgsUsage: "<container-id> [ps options]",
	Description: `Lists the processes in the container's cgroup: with --format table (the
default) as ps(1) prints them (the options after the id go to ps; -ef
if none), with --format json as a JSON array of host pids.`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json"},
	},
	Action: func(c *cli.Context) error {
		if c.NArg() < 1 {
			return fmt.Errorf("%q requires a minimum of 1 argument", c.Command.Name)
		}
		id, err := containerID(c)
		if err != nil {
			return err
		}
		format := c.String("format")
		if format != "table" && format != "json" {
			return fmt.Errorf("invalid format option %q: want table or json", format)
		}
		ct, err := libcontainer.LoadState(root(c), id)
		if err != nil {
			return err
		}
		pids, err := ct.Processes()
		if err != nil {
			return err
		}
		if format == "json" {
			if pids == nil {
				pids = []int{}
			}
			return json.NewEncoder(os.Stdout).Encode(pids)
		}
		args := c.Args().Slice()[1:]
		if len(args) == 0 {
			args = []string{"-ef"}
		}
		out, err := exec.Command("ps", args...).Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				return fmt.Errorf("ps: %w: %s", err, strings.TrimSpace(string(ee.Stderr)))
			}
			return fmt.Errorf("ps: %w", err)
		}
		lines := strings.Split(string(out), "\n")
		col, err := pidColumn(lines[0])
		if err != nil {
			return err
		}
		in := map[int]bool{}
		for _, p := range pids {
			in[p] = true
		}
		fmt.Println(lines[0])
		for _, l := range lines[1:] {
			f := strings.Fields(l)
			if len(f) <= col {
				continue
			}
			if p, err := strconv.Atoi(f[col]); err == nil && in[p] {
				fmt.Println(l)
			}
		}
		return nil
	},
}

// pidColumn finds the PID column in ps's header.
func pidColumn(header string) (int, error) {
	for i, f := range strings.Fields(header) {
		if f == "PID" {
			return i, nil
		}
	}
	return -1, errors.New("couldn't find PID field in ps output")
}
