package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/teu-runtime/teu/libcontainer"
)

// event is one line of `events` output, as runc's types.Event.
type event struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data any    `json:"data,omitempty"`
}

var eventsCommand = &cli.Command{
	Name:      "events",
	Usage:     "display container events: OOM notifications and resource statistics",
	ArgsUsage: "<container-id>",
	Description: `Prints one JSON object per line: {"type":"stats",...} every --interval and
{"type":"oom",...} whenever the kernel OOM-kills a process of the container
(as it happens, not polled). It ends when the container's init exits.
With --stats it prints one stats snapshot and exits.`,
	Flags: []cli.Flag{
		&cli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "interval between stats"},
		&cli.BoolFlag{Name: "stats", Usage: "print the container's stats once, then exit"},
	},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1); err != nil {
			return err
		}
		id, err := containerID(c)
		if err != nil {
			return err
		}
		interval := c.Duration("interval")
		if interval <= 0 {
			return errors.New("duration interval must be greater than 0")
		}
		ct, err := libcontainer.LoadState(root(c), id)
		if err != nil {
			return err
		}
		if ct.Status() == libcontainer.Stopped {
			return fmt.Errorf("container with id %s is not running", id)
		}
		enc := json.NewEncoder(os.Stdout)
		if c.Bool("stats") {
			s, err := ct.Stats()
			if err != nil {
				return err
			}
			return enc.Encode(event{Type: "stats", ID: id, Data: s})
		}
		stop := make(chan struct{})
		defer close(stop)
		exited, err := ct.Exited(stop)
		if err != nil {
			return err
		}
		// Registered before the first stats line: a caller that saw one
		// knows OOMs from then on are reported.
		ooms, err := ct.OOMEvents(stop)
		if err != nil {
			return err
		}
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				s, err := ct.Stats()
				if err != nil {
					slog.Error("stats", "id", id, "error", err)
					continue
				}
				if err := enc.Encode(event{Type: "stats", ID: id, Data: s}); err != nil {
					return err
				}
			case _, ok := <-ooms:
				if !ok {
					ooms = nil
					continue
				}
				if err := enc.Encode(event{Type: "oom", ID: id}); err != nil {
					return err
				}
			case <-exited:
				// Report the OOMs already delivered before going.
				for ooms != nil {
					select {
					case _, ok := <-ooms:
						if !ok {
							return nil
						}
						enc.Encode(event{Type: "oom", ID: id})
					default:
						return nil
					}
				}
				return nil
			}
		}
	},
}
