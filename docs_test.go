package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/teu-runtime/teu/internal/clidoc"
)

// The man pages (docs/man) and shell completions (contrib/completions)
// are generated from the CLI's definitions. TestGeneratedDocs fails when
// the committed files differ from what the definitions give now, so a
// command or flag added without `make docs` fails the unit tests.
// TEU_UPDATE_DOCS=1 (make docs) rewrites them instead.

const (
	manDir       = "docs/man"
	bashComplete = "contrib/completions/bash/teu"
	zshComplete  = "contrib/completions/zsh/_teu"
)

// manExtra are the main page's sections that no definition carries.
var manExtra = []clidoc.Section{
	{Title: "EXIT STATUS", Paragraphs: []string{
		"0 on success; 1 when teu refuses or fails (a usage error, an invalid config.json, a container that does " +
			"not exist or is in the wrong state, a failed create or start); 3 for an unknown command; 255 when exec " +
			"fails to start its process. run and exec, unless detached, exit with the status of the container's " +
			"process, or 128+N when it was killed by signal N. These are runc's. The error is one line on stderr, " +
			"also logged to --log; docs/exit-status.md in teu's source has the table.",
	}},
	{Title: "FILES", Paragraphs: []string{
		"/run/teu/<id>/ (or $XDG_RUNTIME_DIR/teu/<id>/ for a user other than root): a container's state: " +
			"state.json, the config it was created with, exec.fifo while it waits for start.",
	}},
}

func generatedDocs() []clidoc.File {
	app := newApp()
	// What Run adds: the help and version flags and the help command.
	app.Setup()
	files := clidoc.ManPages(app, clidoc.ManOpts{
		Dir: manDir, Section: "8", Title: "System Manager's Manual",
		Extra: manExtra, SeeAlso: []string{"runc(8)"},
	})
	co := clidoc.CompleteOpts{
		Values: map[string][]string{
			"log-format": {"text", "json"},
			"rootless":   {"true", "false", "auto"},
			"format":     {"table", "json"},
		},
		Dirs:    []string{"root", "bundle"},
		NoFiles: []string{"cwd", "user", "env", "additional-gids", "cap", "preserve-fds", "interval", "apparmor", "process-label", "cgroup"},
		IDFlags: []string{"root"},
		ListIDs: []string{"list", "-q"},
		NewID:   []string{"create", "run"},
	}
	return append(files,
		clidoc.File{Path: bashComplete, Data: clidoc.Bash(app, co)},
		clidoc.File{Path: zshComplete, Data: clidoc.Zsh(app, co)})
}

func TestGeneratedDocs(t *testing.T) {
	update := os.Getenv("TEU_UPDATE_DOCS") == "1"
	want := map[string]bool{}
	for _, f := range generatedDocs() {
		want[f.Path] = true
		got, err := os.ReadFile(f.Path)
		if update {
			if err != nil || !bytes.Equal(got, f.Data) {
				if err := os.MkdirAll(filepath.Dir(f.Path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(f.Path, f.Data, 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("wrote %s", f.Path)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s is missing: run make docs", f.Path)
		} else if !bytes.Equal(got, f.Data) {
			t.Errorf("%s differs from the command definitions: run make docs", f.Path)
		}
	}
	// A page of a command that is gone (or hidden now) must go too.
	pages, err := filepath.Glob(manDir + "/*.8")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pages {
		if want[p] {
			continue
		}
		if update {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			t.Logf("removed %s", p)
			continue
		}
		t.Errorf("%s belongs to no command: run make docs", p)
	}
}

// Every visible command and flag appears in the pages, so the generator
// cannot quietly skip one.
func TestGeneratedDocsCoverCLI(t *testing.T) {
	files := map[string]string{}
	for _, f := range generatedDocs() {
		files[f.Path] = string(f.Data)
	}
	app := newApp()
	page := files[manDir+"/teu.8"]
	for _, f := range app.Flags {
		if !strings.Contains(page, `\fB\-\-`+strings.ReplaceAll(f.Names()[0], "-", `\-`)+`\fR`) {
			t.Errorf("teu.8 lacks --%s", f.Names()[0])
		}
	}
	for _, c := range app.Commands {
		if c.Hidden {
			if _, ok := files[manDir+"/teu-"+c.Name+".8"]; ok {
				t.Errorf("hidden command %s has a page", c.Name)
			}
			continue
		}
		p, ok := files[manDir+"/teu-"+c.Name+".8"]
		if !ok {
			t.Errorf("no page for %s", c.Name)
			continue
		}
		for _, f := range c.Flags {
			if v, ok := f.(interface{ IsVisible() bool }); ok && !v.IsVisible() {
				continue
			}
			if !strings.Contains(p, `\fB\-\-`+strings.ReplaceAll(f.Names()[0], "-", `\-`)+`\fR`) {
				t.Errorf("teu-%s.8 lacks --%s", c.Name, f.Names()[0])
			}
			if !strings.Contains(files[bashComplete], "--"+f.Names()[0]) || !strings.Contains(files[zshComplete], "--"+f.Names()[0]) {
				t.Errorf("the completions lack %s --%s", c.Name, f.Names()[0])
			}
		}
	}
}
