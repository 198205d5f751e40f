package clidoc

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
)

func sampleApp() *cli.App {
	return &cli.App{
		Name:  "tool",
		Usage: "does things",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "root", Value: "/run/tool", Usage: "state directory"},
			&cli.BoolFlag{Name: "trace", EnvVars: []string{"TOOL_TRACE"}, Usage: "time things"},
			&cli.StringFlag{Name: "secret", Hidden: true},
		},
		Commands: []*cli.Command{
			{
				Name: "make", Aliases: []string{"mk"}, Usage: "make a thing", ArgsUsage: "<container-id>",
				Description: ".dots lead\n\nsecond paragraph\n\n  literal -x\n  block",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "a directory"},
					&cli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "how often"},
					&cli.UintFlag{Name: "n", Usage: "how many"},
					&cli.StringSliceFlag{Name: "tag", Usage: "a tag"},
					&cli.StringFlag{Name: "format", Value: "table", Usage: "table or json"},
				},
			},
			{Name: "kill", Usage: "kill a thing", ArgsUsage: "<container-id> [signal]"},
			{Name: "secret", Usage: "hidden", Hidden: true},
		},
	}
}

func TestManPages(t *testing.T) {
	files := ManPages(sampleApp(), ManOpts{Dir: "man", Section: "8", Title: "Manual",
		Extra: []Section{{Title: "EXIT STATUS", Paragraphs: []string{"0 on success."}}}, SeeAlso: []string{"runc(8)"}})
	var names []string
	pages := map[string]string{}
	for _, f := range files {
		names = append(names, f.Path)
		pages[f.Path] = string(f.Data)
	}
	if got := strings.Join(names, " "); got != "man/tool.8 man/tool-make.8 man/tool-kill.8" {
		t.Fatalf("pages %s", got)
	}
	main := pages["man/tool.8"]
	for _, want := range []string{
		`.TH TOOL 8 "" "teu" "Manual"`,
		"\\fB\\-\\-root\\fR \\fIvalue\\fR\nstate directory (default: \"/run/tool\")\n",
		"\\fB\\-\\-trace\\fR\ntime things (environment: TOOL_TRACE)\n",
		"\\fBmake\\fR, \\fBmk\\fR \\fI<container\\-id>\\fR\nmake a thing.\nSee \\fBtool\\-make\\fR(8).",
		".SH ENVIRONMENT\n.TP\n\\fBTOOL_TRACE\\fR\n",
		".SH \"EXIT STATUS\"\n0 on success.\n",
		"\\fBtool\\-kill\\fR(8),\n\\fBrunc\\fR(8)\n",
	} {
		if !strings.Contains(main, want) {
			t.Errorf("tool.8 lacks %q:\n%s", want, main)
		}
	}
	for _, bad := range []string{"secret", "help"} {
		if strings.Contains(main, bad) {
			t.Errorf("tool.8 shows the hidden %q", bad)
		}
	}
	mk := pages["man/tool-make.8"]
	for _, want := range []string{
		".SH NAME\ntool\\-make \\- make a thing\n",
		".B tool\n[\\fIglobal options\\fR]\n.B make\n[\\fIoptions\\fR] \\fI<container\\-id>\\fR\n",
		"Also known as mk.",
		// A line starting with a dot is text, not a request.
		".SH DESCRIPTION\n\\&.dots lead\n.PP\nsecond paragraph\n.PP\n.RS\n.nf\nliteral \\-x\nblock\n.fi\n.RE\n",
		"\\fB\\-\\-bundle\\fR, \\fB\\-b\\fR \\fIvalue\\fR\na directory\n",
		"\\fB\\-\\-interval\\fR \\fIduration\\fR\nhow often (default: 5s)\n",
		"\\fB\\-n\\fR \\fIn\\fR\nhow many\n", // one letter: a short flag
		"a tag (repeatable)\n",
		".SH \"SEE ALSO\"\n\\fBtool\\fR(8),\n\\fBrunc\\fR(8)\n",
	} {
		if !strings.Contains(mk, want) {
			t.Errorf("tool-make.8 lacks %q:\n%s", want, mk)
		}
	}
	// groff, where present, reads every page without a warning.
	if groff, err := exec.LookPath("groff"); err == nil {
		for name, page := range pages {
			cmd := exec.Command(groff, "-man", "-ww", "-z")
			cmd.Stdin = strings.NewReader(page)
			if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
				t.Errorf("groff on %s: %v %s", name, err, out)
			}
		}
	}
}

var sampleComplete = CompleteOpts{
	Values:  map[string][]string{"format": {"table", "json"}},
	Dirs:    []string{"root", "bundle"},
	NoFiles: []string{"n"},
	IDFlags: []string{"root"},
	ListIDs: []string{"list", "-q"},
	NewID:   []string{"make"},
}

// completeBash runs the bash completion of the sample app on words, with
// a fake tool on PATH that lists ids only when given --root /r.
func completeBash(t *testing.T, words ...string) string {
	t.Helper()
	dir := t.TempDir()
	script := filepath.Join(dir, "tool.bash")
	if err := os.WriteFile(script, Bash(sampleApp(), sampleComplete), 0o644); err != nil {
		t.Fatal(err)
	}
	fake := "#!/bin/sh\ncase \"$*\" in '--root /r list -q'|'--root=/r list -q') echo c1 c2 ;; esac\n"
	if err := os.WriteFile(filepath.Join(dir, "tool"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-c", `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _tool; printf '%s\n' "${COMPREPLY[@]}"`,
		"_", script)
	cmd.Args = append(cmd.Args, words...)
	cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v: %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestBash(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	for _, c := range []struct {
		words []string
		want  string
	}{
		{[]string{"tool", "m"}, "make\nmk"},
		{[]string{"tool", "--t"}, "--trace"},
		{[]string{"tool", "--root", "/r", "kill", ""}, "c1\nc2"},
		{[]string{"tool", "--root=/r", "kill", "c2"}, "c2"},            // COMP_WORDBREAKS without "="
		{[]string{"tool", "--root", "=", "/r", "kill", "c"}, "c1\nc2"}, // bash's split at "="
		{[]string{"tool", "make", "--format", "=", "j"}, "json"},
		{[]string{"tool", "make", "--format", "="}, "table\njson"},
		{[]string{"tool", "kill", ""}, ""},               // no --root: the fake lists none
		{[]string{"tool", "--root", "/r", "mk", ""}, ""}, // a new id
		{[]string{"tool", "make", "--f"}, "--format"},
		{[]string{"tool", "make", "--format", ""}, "table\njson"},
		{[]string{"tool", "make", "-n", ""}, ""},
		{[]string{"tool", "--root", "/r", "kill", "c1", "--"}, ""}, // flags end at the first argument
		{[]string{"tool", "--secret", "x", "k"}, "kill"},           // a hidden flag's value is no command
	} {
		if got := completeBash(t, c.words...); got != c.want {
			t.Errorf("%q: got %q, want %q", c.words, got, c.want)
		}
	}
}

func TestZshParses(t *testing.T) {
	zsh, err := exec.LookPath("zsh")
	if err != nil {
		t.Skip("no zsh (Debian package zsh)")
	}
	cmd := exec.Command(zsh, "-n")
	cmd.Stdin = strings.NewReader(string(Zsh(sampleApp(), sampleComplete)))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v: %s", err, out)
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		`a-b`: `a\-b`, `c:\x`: `c:\ex`, ".x": `\&.x`, "'x": `\&'x`, "x.y": "x.y",
	} {
		if got := escapeLine(in); got != want {
			t.Errorf("escapeLine(%q) = %q, want %q", in, got, want)
		}
	}
}
