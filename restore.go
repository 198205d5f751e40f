package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer"
)

var restoreCommand = &cli.Command{
	Name:      "restore",
	Usage:     "restore a container from a checkpoint (CRIU)",
	ArgsUsage: "<container-id>",
	Description: `Makes a container from the CRIU images of "teu checkpoint" (or runc's) and
the bundle's config.json (docs/checkpoint.md): its processes go on where they
were. The id and the bundle may differ from the checkpointed container's.
Unless --detach is given teu stays attached as "run" does: it forwards
signals, relays a terminal, deletes the container when it exits and exits with
its status.`,
	Flags: append([]cli.Flag{
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "path to the bundle (default: current directory)"},
		&cli.StringFlag{Name: "console-socket", Usage: "AF_UNIX socket to receive the restored terminal's pty master"},
		&cli.StringFlag{Name: "pid-file", Usage: "write the restored init's pid to this file"},
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the container is restored"},
		&cli.BoolFlag{Name: "no-subreaper", Usage: "do not become a subreaper while attached"},
		&cli.BoolFlag{Name: "no-pivot", Usage: "accepted for runc's command line (CRIU sets up the root itself)"},
		&cli.StringFlag{Name: "lsm-profile", Usage: "restore under this LSM profile, TYPE:NAME"},
		&cli.StringFlag{Name: "lsm-mount-context", Usage: "SELinux context of the restored mounts"},
	}, criuFlags...),
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1); err != nil {
			return err
		}
		id, err := containerID(c)
		if err != nil {
			return err
		}
		bundle, err := bundlePath(c)
		if err != nil {
			return err
		}
		spec, err := loadSpec(bundle)
		if err != nil {
			return fmt.Errorf("restore %s: %w", id, err)
		}
		co, err := criuOpts(c)
		if err != nil {
			return err
		}
		co.LsmProfile, co.LsmMountContext = c.String("lsm-profile"), c.String("lsm-mount-context")
		o := &libcontainer.RestoreOpts{
			CriuOpts: *co, ID: id, Bundle: bundle, Spec: spec,
			ConsoleSocket: c.String("console-socket"), PidFile: absOrEmpty(c.String("pid-file")),
			SystemdCgroup: c.Bool("systemd-cgroup"), Rootless: rootless(c),
			Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		}
		if c.Bool("detach") {
			ct, err := libcontainer.Restore(root(c), o)
			if err != nil {
				return err
			}
			ct.Close()
			return nil
		}
		return restoreAttached(c, o)
	},
}

// restoreAttached restores and stays with the container as `run` does.
// The restored init is our child (CRIU restores it as its own sibling).
func restoreAttached(c *cli.Context, o *libcontainer.RestoreOpts) error {
	a, err := attach(o.Spec.Process.Terminal && o.ConsoleSocket == "" && !o.ShellJob)
	if err != nil {
		return err
	}
	defer a.close()
	if c.Bool("no-subreaper") {
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0); err != nil {
			return err
		}
	}
	ct, err := a.launch(func(conn *os.File) (*libcontainer.Container, error) {
		if conn != nil {
			o.ConsoleConn = conn
		}
		return libcontainer.Restore(root(c), o)
	})
	if err != nil {
		return err
	}
	id := ct.ID()
	initPid := ct.State().InitPid
	ct.Close()
	code, err := a.wait(initPid, func(sig unix.Signal) { ct.Signal(sig, false) }, 0)
	if err != nil {
		return err
	}
	if ct, err := libcontainer.Load(root(c), id); err == nil {
		ct.Delete(true)
		ct.Close()
	}
	if code != 0 {
		return exitError{code}
	}
	return nil
}
