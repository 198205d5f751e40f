package main

import (
	"os"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"
)

// tracer is the --trace (TEU_TRACE=1) printer of the phases of command c
// on container id, or nil when not tracing. Each phase is one line on
// stderr: "teu trace: create c1: mounts 1.234ms".
func tracer(c *cli.Context, id string) func(phase string, d time.Duration) {
	if !c.Bool("trace") {
		return nil
	}
	prefix := "teu trace: " + c.Command.Name + " " + id + ": "
	return func(phase string, d time.Duration) {
		line := prefix + phase + " " + strconv.FormatFloat(float64(d)/1e6, 'f', 3, 64) + "ms\n"
		os.Stderr.WriteString(line)
	}
}
