package main

import (
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/teu-runtime/teu/libcontainer"
)

// criuFlags are checkpoint's and restore's common flags, as runc has them.
var criuFlags = []cli.Flag{
	&cli.StringFlag{Name: "image-path", Usage: "directory of CRIU's image files (default: ./checkpoint)"},
	&cli.StringFlag{Name: "work-path", Usage: "directory for CRIU's log and work files (default: the image path)"},
	&cli.BoolFlag{Name: "tcp-established", Usage: "checkpoint/restore established TCP connections"},
	&cli.BoolFlag{Name: "ext-unix-sk", Usage: "allow unix sockets connected outside the container"},
	&cli.BoolFlag{Name: "shell-job", Usage: "the container's process is a job of a shell (its terminal is outside)"},
	&cli.BoolFlag{Name: "file-locks", Usage: "checkpoint/restore file locks"},
	&cli.StringFlag{Name: "manage-cgroups-mode", Usage: "cgroups mode: soft|full|strict|ignore (default: soft)"},
	&cli.StringSliceFlag{Name: "empty-ns", Usage: "create this namespace but restore none of its properties (network)"},
	&cli.BoolFlag{Name: "auto-dedup", Usage: "deduplicate memory images against their parent"},
	&cli.BoolFlag{Name: "lazy-pages", Usage: "restore memory pages lazily (userfaultfd)"},
}

var checkpointCommand = &cli.Command{
	Name:      "checkpoint",
	Usage:     "checkpoint a running container (CRIU)",
	ArgsUsage: "<container-id>",
	Description: `Saves the running container to CRIU images (docs/checkpoint.md). Unless
--leave-running or --pre-dump is given, its processes stop and the container
is deleted; "teu restore" makes it run again, under the same or another id.`,
	Flags: append([]cli.Flag{
		&cli.StringFlag{Name: "parent-path", Usage: "the previous (pre-)dump, relative to --image-path"},
		&cli.BoolFlag{Name: "leave-running", Usage: "leave the container running after the checkpoint"},
		&cli.BoolFlag{Name: "tcp-skip-in-flight", Usage: "skip TCP connections still being set up"},
		&cli.BoolFlag{Name: "link-remap", Usage: "relink open but unlinked files when possible"},
		&cli.BoolFlag{Name: "pre-dump", Usage: "dump memory only, and leave the container running"},
		&cli.StringFlag{Name: "page-server", Usage: "ADDRESS:PORT of a CRIU page server"},
		&cli.IntFlag{Name: "status-fd", Value: -1, Usage: "with --lazy-pages: fd to write \\0 to once the pages can be fetched"},
	}, criuFlags...),
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1); err != nil {
			return err
		}
		id, err := containerID(c)
		if err != nil {
			return err
		}
		o, err := criuOpts(c)
		if err != nil {
			return err
		}
		o.ParentPath = c.String("parent-path")
		o.LeaveRunning, o.PreDump = c.Bool("leave-running"), c.Bool("pre-dump")
		o.TCPSkipInFlight, o.LinkRemap = c.Bool("tcp-skip-in-flight"), c.Bool("link-remap")
		o.PageServer, o.StatusFd = c.String("page-server"), c.Int("status-fd")
		ct, err := libcontainer.Load(root(c), id)
		if err != nil {
			return err
		}
		defer ct.Close()
		return ct.Checkpoint(o)
	},
}

// criuOpts reads the flags both commands have; paths become absolute.
func criuOpts(c *cli.Context) (*libcontainer.CriuOpts, error) {
	img := c.String("image-path")
	if img == "" {
		img = "checkpoint"
	}
	img, err := filepath.Abs(img)
	if err != nil {
		return nil, err
	}
	work := c.String("work-path")
	if work != "" {
		if work, err = filepath.Abs(work); err != nil {
			return nil, err
		}
	}
	return &libcontainer.CriuOpts{
		ImagePath: img, WorkPath: work, StatusFd: -1,
		TCPEstablished: c.Bool("tcp-established"), ExtUnixSk: c.Bool("ext-unix-sk"),
		ShellJob: c.Bool("shell-job"), FileLocks: c.Bool("file-locks"),
		ManageCgroupsMode: c.String("manage-cgroups-mode"), EmptyNs: c.StringSlice("empty-ns"),
		AutoDedup: c.Bool("auto-dedup"), LazyPages: c.Bool("lazy-pages"),
	}, nil
}
