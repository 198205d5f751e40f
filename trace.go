package main

import (
	"context"
	"log/slog"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"
)

// --trace (TEU_TRACE=1) times the phases of create, start, run, exec and
// delete, and the whole command. Each phase is one line on stderr,
// "teu trace: create c1: init mounts 1.234ms", or with --log one log
// record (msg "trace", fields cmd, id, phase, ms: JSON lines with
// --log-format json, for engines), ending with the phase "total".

// traceKey is where a traced command's traceRun lives in App.Metadata.
const traceKey = "teu.trace"

// traceRun is one traced invocation of teu.
type traceRun struct {
	start   time.Time
	toLog   bool // write records to the --log handler, not lines to stderr
	cmd, id string
}

// startTrace is called once logging is set up (app.Before): with --trace
// it records the start of the command.
func startTrace(c *cli.Context) {
	if !c.Bool("trace") {
		return
	}
	if c.App.Metadata == nil {
		c.App.Metadata = map[string]any{}
	}
	c.App.Metadata[traceKey] = &traceRun{start: time.Now(), toLog: c.String("log") != ""}
}

// endTrace (app.After) reports the total of a command that traced.
func endTrace(c *cli.Context) error {
	if t, ok := c.App.Metadata[traceKey].(*traceRun); ok && t.id != "" {
		t.emit("total", time.Since(t.start))
	}
	return nil
}

// tracer is the --trace printer of the phases of command c on container
// id, or nil when not tracing.
func tracer(c *cli.Context, id string) func(phase string, d time.Duration) {
	t, ok := c.App.Metadata[traceKey].(*traceRun)
	if !ok {
		return nil
	}
	t.cmd, t.id = c.Command.Name, id
	return t.emit
}

func (t *traceRun) emit(phase string, d time.Duration) {
	ms := float64(d) / 1e6
	if t.toLog {
		// Traces are asked for: they bypass the log level (warning
		// unless --debug).
		r := slog.NewRecord(time.Now(), slog.LevelInfo, "trace", 0)
		r.AddAttrs(slog.String("cmd", t.cmd), slog.String("id", t.id), slog.String("phase", phase),
			slog.Float64("ms", math.Round(ms*1000)/1000))
		slog.Default().Handler().Handle(context.Background(), r)
		return
	}
	os.Stderr.WriteString("teu trace: " + t.cmd + " " + t.id + ": " + phase + " " + strconv.FormatFloat(ms, 'f', 3, 64) + "ms\n")
}

// stopwatch times consecutive phases of a command for --trace; it does
// nothing when not tracing.
type stopwatch struct {
	trace func(string, time.Duration)
	t0    time.Time
}

func newStopwatch(c *cli.Context, id string) *stopwatch {
	return &stopwatch{trace: tracer(c, id), t0: time.Now()}
}

// restart starts the next phase without reporting the time before.
func (s *stopwatch) restart() { s.t0 = time.Now() }

// lap reports the phase that ends now; the next one starts.
func (s *stopwatch) lap(phase string) {
	if s.trace == nil {
		return
	}
	now := time.Now()
	s.trace(phase, now.Sub(s.t0))
	s.t0 = now
}
