package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer"
	"github.com/teu-runtime/teu/libcontainer/caps"
)

var execCommand = &cli.Command{
	Name:      "exec",
	Usage:     "run a new process inside a container",
	ArgsUsage: "<container-id> <command> [args...]  ||  -p process.json <container-id>",
	Description: `Runs a process in the namespaces and cgroup of a running container, with
the container's process spec (capabilities, rlimits, seccomp filter,
no_new_privs, user, env, cwd) as far as the flags do not override it; with
-p, process.json is the whole process instead. Unless --detach is given teu
stays attached: it forwards signals, relays a terminal (--tty without
--console-socket) and exits with the process's status (128+N when killed by
signal N).`,
	Flags: flatten(
		&cli.StringFlag{Name: "process", Aliases: []string{"p"}, Usage: "path to a process.json (runtime-spec process)"},
		&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a pseudo-terminal"},
		&cli.StringFlag{Name: "console-socket", Usage: "AF_UNIX socket to receive the pty master (with --tty)"},
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the process runs"},
		&cli.StringFlag{Name: "pid-file", Usage: "write the process's pid to this file"},
		&cli.StringFlag{Name: "pidfd-socket", Usage: "AF_UNIX socket to receive a pidfd of the process"},
		listFlag("env", "e", "set an environment variable NAME=value"),
		&cli.StringFlag{Name: "cwd", Usage: "working directory in the container"},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "uid[:gid]"},
		listFlag("additional-gids", "g", "an additional gid"),
		listFlag("cap", "c", "add a capability"),
		&cli.BoolFlag{Name: "no-new-privs", Usage: "set no_new_privs for the process"},
		&cli.StringFlag{Name: "apparmor", Usage: "AppArmor profile of the process"},
		&cli.StringFlag{Name: "process-label", Usage: "SELinux label of the process"},
		&cli.UintFlag{Name: "preserve-fds", Usage: "pass N fds after stdio (3..3+N-1) into the process"},
		&cli.StringSliceFlag{Name: "cgroup", Usage: "run in an existing sub-cgroup: [controller[,controller]:]path (repeatable)"},
		&cli.BoolFlag{Name: "ignore-paused", Usage: "allow exec in a paused container"},
	),
	// Flag parsing stops at the container id: teu exec c1 ls -l.
	Action: execAction,
}

func execAction(c *cli.Context) error {
	id, err := containerID(c)
	if err != nil {
		return err
	}
	// As runc: once the arguments parse, a failed exec exits 255, so that
	// a caller can tell it from the process's own status.
	if err := execMain(c, id); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			return err
		}
		return codeError{255, err}
	}
	return nil
}

func execMain(c *cli.Context, id string) error {
	if c.String("process") == "" && c.NArg() < 2 {
		return fmt.Errorf("exec %s: a command is required (or -p process.json)", id)
	}
	sw := newStopwatch(c, id)
	ct, err := libcontainer.LoadState(root(c), id)
	if err != nil {
		return err
	}
	sw.lap("load")
	p, err := execProcess(c, ct)
	if err != nil {
		return fmt.Errorf("exec %s: %w", id, err)
	}
	sub, err := libcontainer.ParseSubCgroup(c.StringSlice("cgroup"))
	if err != nil {
		return fmt.Errorf("exec %s: %w", id, err)
	}
	detach := c.Bool("detach")
	opts := &libcontainer.ExecOpts{
		Process: p, ConsoleSocket: c.String("console-socket"), PidFile: absOrEmpty(c.String("pid-file")),
		PidfdSocket: c.String("pidfd-socket"),
		PreserveFds: int(c.Uint("preserve-fds")), SubCgroup: sub, IgnorePaused: c.Bool("ignore-paused"),
		Trace: sw.trace,
	}
	sw.lap("process")
	if p.Terminal && detach && opts.ConsoleSocket == "" {
		return fmt.Errorf("exec %s: --tty with --detach needs --console-socket", id)
	}
	if detach {
		_, err := ct.Exec(opts)
		return err
	}
	a, err := attach(p.Terminal && opts.ConsoleSocket == "")
	if err != nil {
		return err
	}
	defer a.close()
	opts.ConsoleConn = a.theirs
	pid, err := ct.Exec(opts)
	sw.restart() // Exec traced its own phases
	if a.theirs != nil {
		a.theirs.Close()
		a.theirs = nil
	}
	if err != nil {
		return err
	}
	if a.tty != nil {
		if err := a.tty.attach(); err != nil {
			unix.Kill(pid, unix.SIGKILL)
			return fmt.Errorf("exec %s: %w", id, err)
		}
	}
	// pid is our child until we reap it: it cannot be another process.
	code, err := a.wait(pid, func(sig unix.Signal) { unix.Kill(pid, sig) }, time.Second)
	if err != nil {
		return err
	}
	sw.lap("wait")
	if code != 0 {
		return exitError{code}
	}
	return nil
}

// execProcess is the process to run: process.json as it is, or the
// container's process with the command and the flags applied.
func execProcess(c *cli.Context, ct *libcontainer.Container) (*specs.Process, error) {
	if path := c.String("process"); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read process.json: %w", err)
		}
		var p specs.Process
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, fmt.Errorf("invalid process.json %s: %w", path, err)
		}
		return &p, nil
	}
	spec, err := ct.ProcessConfig()
	if err != nil {
		return nil, fmt.Errorf("read container config: %w", err)
	}
	if spec.Process == nil {
		return nil, errors.New("the container's config has no process")
	}
	p := *spec.Process
	p.Args = c.Args().Slice()[1:]
	p.CommandLine = ""
	p.Terminal = c.Bool("tty")
	if !p.Terminal {
		p.ConsoleSize = nil
	}
	p.Env = mergeEnv(p.Env, listValues(c, "env"))
	if cwd := c.String("cwd"); cwd != "" {
		p.Cwd = cwd
	}
	if u := c.String("user"); u != "" {
		uid, gid, err := parseUser(u)
		if err != nil {
			return nil, err
		}
		p.User.UID = uid
		if gid != nil {
			p.User.GID = *gid
		}
	}
	for _, g := range listValues(c, "additional-gids") {
		gid, err := strconv.ParseUint(g, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("invalid --additional-gids %q: want a number", g)
		}
		p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(gid))
	}
	if capsAdd := listValues(c, "cap"); len(capsAdd) > 0 {
		pc := &specs.LinuxCapabilities{}
		if p.Capabilities != nil {
			*pc = *p.Capabilities
		}
		for _, name := range capsAdd {
			if _, err := caps.Parse(name); err != nil {
				return nil, fmt.Errorf("--cap: %w", err)
			}
			name = strings.ToUpper(name)
			pc.Bounding = append(pc.Bounding, name)
			pc.Effective = append(pc.Effective, name)
			pc.Permitted = append(pc.Permitted, name)
			// Ambient needs inheritable; add both only where the
			// container already uses them, as runc does.
			if len(pc.Inheritable) > 0 {
				pc.Inheritable = append(pc.Inheritable, name)
				pc.Ambient = append(pc.Ambient, name)
			}
		}
		p.Capabilities = pc
	}
	if c.Bool("no-new-privs") {
		p.NoNewPrivileges = true
	}
	if c.IsSet("apparmor") {
		p.ApparmorProfile = c.String("apparmor")
	}
	if c.IsSet("process-label") {
		p.SelinuxLabel = c.String("process-label")
	}
	return &p, nil
}

// mergeEnv sets each NAME=value of add in env, replacing an earlier NAME.
func mergeEnv(env, add []string) []string {
	out := append([]string{}, env...)
	for _, kv := range add {
		name, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, e := range out {
			if n, _, _ := strings.Cut(e, "="); n == name {
				out[i], replaced = kv, true
				break
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return out
}

// parseUser parses --user uid[:gid] (numbers, as runc).
func parseUser(s string) (uint32, *uint32, error) {
	us, gs, hasGid := strings.Cut(s, ":")
	uid, err := strconv.ParseUint(us, 10, 32)
	if err != nil {
		return 0, nil, fmt.Errorf("invalid --user %q: want uid[:gid]", s)
	}
	if !hasGid {
		return uint32(uid), nil, nil
	}
	gid, err := strconv.ParseUint(gs, 10, 32)
	if err != nil {
		return 0, nil, fmt.Errorf("invalid --user %q: want uid[:gid]", s)
	}
	g := uint32(gid)
	return uint32(uid), &g, nil
}

// listFlag is a repeatable string flag with a long and a short name that
// may be mixed in one command line (-e A=1 --env B=2), as runc allows;
// urfave/cli refuses that for aliases, so the two names are two flags
// appending to one list, in command-line order.
func listFlag(long, short, usage string) []cli.Flag {
	v := &stringList{}
	return []cli.Flag{
		&cli.GenericFlag{Name: long, Value: v, Usage: usage + " (repeatable; also -" + short + ")"},
		&cli.GenericFlag{Name: short, Value: v, Hidden: true},
	}
}

// listValues is what a listFlag collected.
func listValues(c *cli.Context, long string) []string {
	if v, ok := c.Generic(long).(*stringList); ok {
		return *v
	}
	return nil
}

type stringList []string

func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }
func (l *stringList) String() string     { return strings.Join(*l, ",") }

// flatten builds a flag list from flags and []cli.Flag groups.
func flatten(fs ...any) []cli.Flag {
	var out []cli.Flag
	for _, f := range fs {
		switch f := f.(type) {
		case cli.Flag:
			out = append(out, f)
		case []cli.Flag:
			out = append(out, f...)
		}
	}
	return out
}
