// teu is a low-level OCI container runtime with runc's command line.
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"

	"github.com/teu-runtime/teu/libcontainer"
	"github.com/teu-runtime/teu/libcontainer/seccomp"
	_ "github.com/teu-runtime/teu/nsenter" // the C constructor of `teu init`
)

// Set at build time by the Makefile.
var (
	version = "0.1.0-dev"
	commit  = ""
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		// A container's init never gets here: the C constructor runs its
		// plan and execs. What is left is the idmap user namespace holder.
		libcontainer.HoldUsernsIfAsked()
		fatal(errors.New("init is internal: teu runs it itself"), false)
	}
	_ = growStack(len(os.Args))
	app := newApp()
	if err := app.Run(reorderArgs(app, os.Args)); err != nil {
		_, logged := app.Metadata[metaLogFile]
		fatal(err, logged)
	}
}

// growStack grows the main goroutine's stack to 32 KiB in one step, while
// only main's frame is below it. Go starts it at 2 KiB and doubles it as
// calls go deeper; create's reach past 16 KiB, and each doubling on the
// way copies the stack and walks every frame then live through the
// pc tables (perf: ~4 % of a create's CPU for four of them). The frame
// must be zeroed (it is read), which touches the pages the deeper calls
// would touch anyway.
//
//go:noinline
func growStack(i int) byte {
	var frame [20 << 10]byte
	return frame[i%len(frame)]
}

func newApp() *cli.App {
	app := cli.NewApp()
	app.Name = "teu"
	app.Metadata = map[string]any{}
	// The second line of --help reads "teu - a drop-in for runc - Open
	// Container Initiative runtime": runc's own words for what it is.
	app.Usage = "a drop-in for runc - Open Container Initiative runtime"
	app.Description = `teu runs OCI bundles (a config.json and a root filesystem, runtime-spec 1.3)
as containers. Its commands, flags and exit statuses are runc's: an engine
(containerd, Docker, podman, CRI-O) uses it in runc's place. An error is one
line on stderr ("teu: create c1: ..."), also logged to --log.

--trace (or TEU_TRACE=1) times the phases of create, start, run, exec and
delete, and the whole command, one line each on stderr:

  teu trace: create c1: init mounts 0.412ms
  teu trace: create c1: total 41.870ms

With --log they are log records instead (msg "trace", fields cmd, id, phase
and ms; JSON lines with --log-format json).`
	app.Version = versionString()
	app.DisableSliceFlagSeparator = true
	app.Flags = []cli.Flag{
		&cli.StringFlag{Name: "root", Value: defaultRoot(), DefaultText: "/run/teu, or $XDG_RUNTIME_DIR/teu when not root", Usage: "root directory for the state of containers"},
		&cli.StringFlag{Name: "log", Usage: "write logs to this file instead of stderr"},
		&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format: text or json"},
		&cli.BoolFlag{Name: "debug", Usage: "log debug output"},
		&cli.BoolFlag{Name: "systemd-cgroup", Usage: "place containers in transient systemd scopes; cgroupsPath is \"slice:prefix:name\""},
		&cli.StringFlag{Name: "rootless", Value: "auto", Usage: "ignore cgroup permission errors: true, false or auto (not root, or root in a user namespace)"},
		&cli.BoolFlag{Name: "trace", EnvVars: []string{"TEU_TRACE"}, Usage: "time each phase of create, start, run, exec and delete, and the total: lines on stderr, or records in --log"},
	}
	app.Commands = []*cli.Command{
		createCommand, startCommand, runCommand, stateCommand, killCommand,
		deleteCommand, listCommand, specCommand,
		updateCommand, pauseCommand, resumeCommand, psCommand, eventsCommand,
		execCommand, featuresCommand, planCommand, checkpointCommand, restoreCommand,
	}
	app.Before = func(c *cli.Context) error {
		if err := setupLogging(c); err != nil {
			return err
		}
		startTrace(c)
		return nil
	}
	app.After = endTrace
	// A bad flag is one error line, not the error and the whole help.
	app.OnUsageError = usageError
	for _, cmd := range app.Commands {
		cmd.OnUsageError = usageError
		// No "help"/"h" subcommand: `teu create h` creates a container
		// named h (--help still prints the help).
		cmd.HideHelpCommand = true
	}
	cli.VersionPrinter = func(c *cli.Context) { fmt.Println(c.App.Name + " version " + c.App.Version) }
	// An unknown command is urfave/cli v1's (runc's) error and status 3.
	app.CommandNotFound = func(c *cli.Context, name string) {
		fmt.Fprintf(os.Stderr, "No help topic for '%s'\n", name)
		os.Exit(3)
	}
	app.ExitErrHandler = func(*cli.Context, error) {}
	return app
}

// runcVersion is the runc release whose CLI teu follows; `teu --version`
// names it (Docker and the like parse "<name> version <v>" and "commit:").
const runcVersion = "1.5.3"

func versionString() string {
	v := version + " (a drop-in for runc version " + runcVersion + ")"
	if commit != "" {
		v += "\ncommit: " + commit
	}
	return v + "\nspec: " + specs.Version + "\ngo: " + goVersion() + "\nlibseccomp: " + seccomp.Version()
}

func defaultRoot() string {
	if os.Geteuid() != 0 {
		if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
			return d + "/teu"
		}
	}
	return "/run/teu"
}

// rootless is the --rootless flag (checked by setupLogging).
func rootless(c *cli.Context) libcontainer.Rootless {
	r, _ := libcontainer.ParseRootless(c.String("rootless"))
	return r
}

// metaLogFile is the app's Metadata key set when --log names a file, where
// errors are logged too.
const metaLogFile = "log-file"

func setupLogging(c *cli.Context) error {
	format := c.String("log-format")
	if format != "text" && format != "json" {
		return fmt.Errorf("invalid --log-format %q: want text or json", format)
	}
	if _, err := libcontainer.ParseRootless(c.String("rootless")); err != nil {
		return err
	}
	level := slog.LevelWarn
	if c.Bool("debug") {
		level = slog.LevelDebug
	}
	var w io.Writer = os.Stderr
	if p := c.String("log"); p != "" {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_SYNC, 0o644)
		if err != nil {
			return fmt.Errorf("open log file: %w", err)
		}
		w = f
		c.App.Metadata[metaLogFile] = p
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: logAttr}
	var h slog.Handler
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	slog.SetDefault(slog.New(h))
	return nil
}

// logAttr makes slog's records look like runc's (logrus) lines, which
// containerd's shim and conmon parse: {"level":"error","msg":..,"time":..}.
func logAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.LevelKey:
		lvl := strings.ToLower(a.Value.String())
		if lvl == "warn" {
			lvl = "warning" // logrus's word
		}
		return slog.String("level", lvl)
	case slog.TimeKey:
		return slog.String("time", a.Value.Time().Format(time.RFC3339Nano))
	}
	return a
}

// fatal reports err as one line and exits 1 (or the code a codeError
// carries). With --log (toLog) the line also goes to the log, where
// engines look for it.
func fatal(err error, toLog bool) {
	// A container's exit status is no error of teu's.
	var ee exitError
	if errors.As(err, &ee) {
		os.Exit(ee.code)
	}
	code := 1
	var ce codeError
	if errors.As(err, &ce) {
		code = ce.code
	}
	if toLog {
		slog.Error(err.Error())
	}
	line := "teu: " + err.Error()
	var xf *libcontainer.ExecFailed
	if errors.As(err, &xf) {
		line = xf.Error() // as runc's init prints it
	}
	fmt.Fprintln(os.Stderr, strings.ReplaceAll(line, "\n", " "))
	os.Exit(code)
}

func usageError(c *cli.Context, err error, _ bool) error {
	if c.Command != nil && c.Command.Name != "" && c.Command.Name != c.App.Name {
		return fmt.Errorf("%s: %w", c.Command.Name, err)
	}
	return err
}

// codeError is an error teu exits with code for, as runc does (255 for a
// failed exec).
type codeError struct {
	code int
	err  error
}

func (e codeError) Error() string { return e.err.Error() }
func (e codeError) Unwrap() error { return e.err }

// exitError carries a container's exit status out of `run`.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }
