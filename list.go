package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/teu-runtime/teu/libcontainer"
	"github.com/teu-runtime/teu/libcontainer/state"
)

var listCommand = &cli.Command{
	Name:    "list",
	Aliases: []string{"ps-all"},
	Usage:   "list containers",
	Description: `Lists the containers under --root, as a table or JSON. A container whose
state cannot be read is listed with the status "` + statusDamaged + `" (and the pid of its init if
that is alive), its error goes to stderr, and list exits 1.`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only ids"},
	},
	Action: func(c *cli.Context) (retErr error) {
		if err := checkArgs(c, 0); err != nil {
			return err
		}
		format := c.String("format")
		if format != "table" && format != "json" {
			return fmt.Errorf("invalid format %q: want table or json", format)
		}
		// As runc: a --root given that does not exist is an error; the
		// default one missing just means no containers yet.
		if c.IsSet("root") {
			if _, err := os.Stat(root(c)); err != nil {
				return fmt.Errorf("list: %w", err)
			}
		}
		ids, err := libcontainer.List(root(c))
		if err != nil {
			return err
		}
		states := []containerState{}
		var damaged []error
		for _, id := range ids {
			ct, err := libcontainer.LoadState(root(c), id)
			var dmg *state.Damaged
			switch {
			case errors.As(err, &dmg):
				// Listed, so that it is not forgotten; said on stderr.
				states = append(states, containerState{ID: id, InitProcessPid: dmg.LivePid(), Status: statusDamaged})
				damaged = append(damaged, err)
			case err != nil:
				continue // deleted meanwhile
			default:
				states = append(states, stateOf(ct))
			}
		}
		defer func() {
			for _, err := range damaged {
				fmt.Fprintln(os.Stderr, "teu: list: "+err.Error())
			}
			if len(damaged) > 0 && retErr == nil {
				retErr = exitError{1}
			}
		}()
		// One write to stdout: tabwriter writes each cell and its padding
		// on its own, and fmt.Println writes each line.
		out := bufio.NewWriter(os.Stdout)
		if c.Bool("quiet") {
			for _, s := range states {
				fmt.Fprintln(out, s.ID)
			}
			return out.Flush()
		}
		if format == "json" {
			return json.NewEncoder(os.Stdout).Encode(states)
		}
		w := tabwriter.NewWriter(out, 12, 1, 3, ' ', 0)
		fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
		for _, s := range states {
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", s.ID, s.InitProcessPid, s.Status, s.Bundle,
				s.Created.Format(time.RFC3339Nano), s.Owner)
		}
		if err := w.Flush(); err != nil {
			return err
		}
		return out.Flush()
	},
}

// statusDamaged is list's status for a container whose state cannot be read.
const statusDamaged = "error"
