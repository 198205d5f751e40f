package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/teu-runtime/teu/libcontainer/specconv"
)

var specCommand = &cli.Command{
	Name:  "spec",
	Usage: "write a default config.json",
	Description: `Writes a runtime-spec config.json for a bundle whose root filesystem is in
"rootfs" (a busybox tree runs as is). It never overwrites an existing file.`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "where to write config.json"},
		&cli.BoolFlag{Name: "rootless", Usage: "a config for an unprivileged user"},
	},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 0); err != nil {
			return err
		}
		s := specconv.Example()
		if c.Bool("rootless") {
			specconv.ToRootless(s)
		}
		path := filepath.Join(c.String("bundle"), "config.json")
		data, err := json.MarshalIndent(s, "", "\t")
		if err != nil {
			return err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if err != nil {
			if errors.Is(err, os.ErrExist) {
				return fmt.Errorf("file %s exists; remove it first", path)
			}
			return err
		}
		defer f.Close()
		_, err = f.Write(append(data, '\n'))
		return err
	},
}
