package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	jsonv1 "github.com/go-json-experiment/json/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"

	"github.com/teu-runtime/teu/libcontainer"
)

var createFlags = []cli.Flag{
	&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "path to the bundle (default: current directory)"},
	&cli.StringFlag{Name: "console-socket", Usage: "AF_UNIX socket to receive the pty master of a terminal container"},
	&cli.StringFlag{Name: "pid-file", Usage: "write the container init's pid to this file"},
	&cli.StringFlag{Name: "pidfd-socket", Usage: "AF_UNIX socket to receive a pidfd of the container's init"},
	&cli.BoolFlag{Name: "no-pivot", Usage: "do not use pivot_root (for a rootfs on ramfs)"},
	&cli.BoolFlag{Name: "no-new-keyring", Usage: "do not give the container a session keyring of its own"},
	&cli.UintFlag{Name: "preserve-fds", Usage: "pass N fds after stdio (3..3+N-1) into the container"},
}

var createCommand = &cli.Command{
	Name:      "create",
	Usage:     "create a container",
	ArgsUsage: "<container-id>",
	Description: `Creates a container from the bundle's config.json. Its init waits for
"teu start" before it runs the user's process.`,
	Flags: createFlags,
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1); err != nil {
			return err
		}
		opts, err := createOpts(c)
		if err != nil {
			return err
		}
		ct, err := libcontainer.Create(root(c), opts)
		if err != nil {
			return err
		}
		ct.Close()
		return nil
	},
}

func createOpts(c *cli.Context) (*libcontainer.CreateOpts, error) {
	id, err := containerID(c)
	if err != nil {
		return nil, err
	}
	bundle, err := bundlePath(c)
	if err != nil {
		return nil, err
	}
	trace := tracer(c, id)
	t0 := time.Now()
	spec, raw, err := loadSpecJSON(bundle)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", id, err)
	}
	if trace != nil {
		trace("config", time.Since(t0))
	}
	return &libcontainer.CreateOpts{
		ID: id, Bundle: bundle, Spec: spec, SpecJSON: raw, Trace: trace,
		ConsoleSocket: c.String("console-socket"), PidFile: absOrEmpty(c.String("pid-file")),
		PidfdSocket: c.String("pidfd-socket"),
		NoPivot:     c.Bool("no-pivot"), NoNewKeyring: c.Bool("no-new-keyring"),
		PreserveFds:   int(c.Uint("preserve-fds")),
		SystemdCgroup: c.Bool("systemd-cgroup"), Rootless: rootless(c),
	}, nil
}

func absOrEmpty(p string) string {
	if p == "" {
		return ""
	}
	if a, err := absPath(p); err == nil {
		return a
	}
	return p
}

// decodeSpec parses a config.json, naming the spot of a syntax error. It
// returns the bytes too: create stores them as read (decoding them again
// gives the same spec), not encoded anew.
func decodeSpec(r io.Reader) (*specs.Spec, []byte, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, err
	}
	var s specs.Spec
	// encoding/json/v2's decoder, with v1's semantics (runc's: field
	// names matched without case, last duplicate wins): v1 builds an
	// encoder for each of the few hundred types specs.Spec reaches before
	// it decodes a value, which took ~1 ms of each create's CPU.
	if err := jsonv1.Unmarshal(data, &s); err != nil {
		var se *jsonv1.SyntaxError
		if errors.As(err, &se) {
			return nil, nil, fmt.Errorf("invalid config.json: %v at byte %d", se, se.Offset)
		}
		return nil, nil, fmt.Errorf("invalid config.json: %w", err)
	}
	return &s, data, nil
}

func absPath(p string) (string, error) {
	if len(p) > 0 && p[0] == '/' {
		return p, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return wd + "/" + p, nil
}
