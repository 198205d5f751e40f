package main

import (
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestReorderArgs(t *testing.T) {
	app := newApp()
	for _, tc := range []struct{ in, want string }{
		{"teu update c1 --memory 1G --pids-limit 5", "teu update --memory 1G --pids-limit 5 c1"},
		{"teu --root /r update c1 --memory=1G", "teu --root /r update --memory=1G c1"},
		{"teu --debug delete c1 --force", "teu --debug delete --force c1"},
		{"teu kill c1 KILL --all", "teu kill --all c1 KILL"},
		// exec and ps: what follows the id is the process's.
		{"teu exec c1 ls --all", "teu exec c1 ls --all"},
		{"teu ps c1 -ef", "teu ps c1 -ef"},
		// "--" ends the flags; an unknown command is left alone.
		{"teu update c1 -- --memory", "teu update -- c1 --memory"},
		{"teu nosuch c1 --x", "teu nosuch c1 --x"},
		{"teu", "teu"},
	} {
		if got := strings.Join(reorderArgs(app, strings.Fields(tc.in)), " "); got != tc.want {
			t.Errorf("reorderArgs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// hasName answers as f.Names() would, for every flag of the app and of
// each command, and for names it does not have.
func TestHasName(t *testing.T) {
	app := newApp()
	check := func(where string, flags []cli.Flag) {
		for _, f := range flags {
			names := f.Names()
			for _, n := range names {
				if !hasName(f, n) {
					t.Errorf("%s: %v: hasName(%q) = false", where, names, n)
				}
			}
			for _, n := range []string{names[0] + "x", "", "x" + names[0]} {
				if hasName(f, n) {
					t.Errorf("%s: %v: hasName(%q) = true", where, names, n)
				}
			}
		}
	}
	check("teu", app.Flags)
	for _, c := range app.Commands {
		check(c.Name, c.Flags)
	}
}
