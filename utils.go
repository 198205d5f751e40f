package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"

	"github.com/teu-runtime/teu/libcontainer/state"
)

func goVersion() string { return runtime.Version() }

// checkArgs enforces a command's argument count, as runc does.
func checkArgs(c *cli.Context, n int) error {
	if c.NArg() != n {
		return fmt.Errorf("%q requires exactly %d argument(s)", c.Command.Name, n)
	}
	return nil
}

func containerID(c *cli.Context) (string, error) {
	id := c.Args().First()
	if id == "" {
		return "", errors.New("container id cannot be empty")
	}
	return id, state.ValidateID(id)
}

// loadSpec reads <bundle>/config.json.
func loadSpec(bundle string) (*specs.Spec, error) {
	s, _, err := loadSpecJSON(bundle)
	return s, err
}

// loadSpecJSON is loadSpec that also returns the file's bytes.
func loadSpecJSON(bundle string) (*specs.Spec, []byte, error) {
	f, err := os.Open(filepath.Join(bundle, "config.json"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, fmt.Errorf("config.json not found in bundle %s", bundle)
		}
		return nil, nil, err
	}
	defer f.Close()
	return decodeSpec(f)
}

func bundlePath(c *cli.Context) (string, error) {
	b := c.String("bundle")
	if b == "" {
		b = "."
	}
	return filepath.Abs(b)
}

func root(c *cli.Context) string { return c.String("root") }
