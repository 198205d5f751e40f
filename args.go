package main

import (
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// reorderArgs moves a command's flags that follow its arguments in front of
// them, as runc's CLI library (urfave/cli v1) does for every command but
// exec and ps, whose arguments after the container id are the process's:
// `teu update c1 --memory 1G` is `teu update --memory 1G c1`. "--" ends
// the flags. args is os.Args.
func reorderArgs(app *cli.App, args []string) []string {
	// Past the global flags to the command's name.
	i := 1
	for i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "-" && args[i] != "--" {
		if takesValue(app.Flags, args[i]) {
			i++
		}
		i++
	}
	if i >= len(args) {
		return args
	}
	cmd := app.Command(args[i])
	if cmd == nil || cmd.SkipFlagParsing || cmd.Name == "exec" || cmd.Name == "ps" {
		return args
	}
	var flags, rest []string
	tail := args[i+1:]
	for j := 0; j < len(tail); j++ {
		a := tail[j]
		switch {
		case a == "--":
			rest = append(append([]string{"--"}, rest...), tail[j+1:]...)
			j = len(tail)
		case isFlag(cmd.Flags, a):
			flags = append(flags, a)
			if takesValue(cmd.Flags, a) && j+1 < len(tail) {
				j++
				flags = append(flags, tail[j])
			}
		default:
			rest = append(rest, a)
		}
	}
	out := append([]string{}, args[:i+1]...)
	return append(append(out, flags...), rest...)
}

// flagName is the name in "-x", "--xy" or "--xy=v".
func flagName(arg string) string {
	name := strings.TrimLeft(arg, "-")
	name, _, _ = strings.Cut(name, "=")
	return name
}

func findFlag(flags []cli.Flag, arg string) cli.Flag {
	if !strings.HasPrefix(arg, "-") || arg == "-" || arg == "--" {
		return nil
	}
	name := flagName(arg)
	for _, f := range flags {
		if hasName(f, name) {
			return f
		}
	}
	return nil
}

// hasName: name is one of f's names. Not f.Names(), which runs a regexp
// over each name at each call (urfave/cli's v1-migration check): that is
// a flag's Name and Aliases as they are, since ours have no comma or space
// (TestHasName), and reorderArgs asks for each flag at each argument.
func hasName(f cli.Flag, name string) bool {
	var n string
	var aliases []string
	switch f := f.(type) {
	case *cli.BoolFlag:
		n, aliases = f.Name, f.Aliases
	case *cli.StringFlag:
		n, aliases = f.Name, f.Aliases
	case *cli.IntFlag:
		n, aliases = f.Name, f.Aliases
	case *cli.UintFlag:
		n, aliases = f.Name, f.Aliases
	case *cli.DurationFlag:
		n, aliases = f.Name, f.Aliases
	case *cli.GenericFlag:
		n, aliases = f.Name, f.Aliases
	case *cli.StringSliceFlag:
		n, aliases = f.Name, f.Aliases
	default:
		return slices.Contains(f.Names(), name)
	}
	return n == name || slices.Contains(aliases, name)
}

func isFlag(flags []cli.Flag, arg string) bool { return findFlag(flags, arg) != nil }

// takesValue: arg is a flag that takes its value from the next argument.
func takesValue(flags []cli.Flag, arg string) bool {
	f := findFlag(flags, arg)
	if f == nil || strings.Contains(arg, "=") {
		return false
	}
	_, isBool := f.(*cli.BoolFlag)
	return !isBool
}
