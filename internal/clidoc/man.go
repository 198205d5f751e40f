// Package clidoc renders teu's man pages and shell completions from the
// CLI's own command and flag definitions, so they cannot drift from it.
// The teu binary does not link it (it is built without urfave/cli's docs
// code, for start-up time): a test in package main regenerates the files
// and fails when the committed ones differ (make docs).
package clidoc

import (
	"fmt"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
)

// File is one generated file: its path relative to the repository and
// its contents.
type File struct {
	Path string
	Data []byte
}

// Section is an extra section of the main man page: a title and its
// paragraphs (plain text; a paragraph starting with "  " is kept as a
// literal block).
type Section struct {
	Title      string
	Paragraphs []string
}

// ManOpts are what man pages need beyond the command definitions.
type ManOpts struct {
	Dir     string    // where the pages go, e.g. "docs/man"
	Section string    // e.g. "8"
	Title   string    // the footer's manual title
	Extra   []Section // appended to the main page
	SeeAlso []string  // other pages, "runc(8)", for every page
}

// ManPages renders the main page (app.Name.Section) and one page per
// visible command (app.Name-command.Section).
func ManPages(app *cli.App, o ManOpts) []File {
	files := []File{{Path: o.Dir + "/" + app.Name + "." + o.Section, Data: mainPage(app, o)}}
	for _, c := range visibleCommands(app) {
		files = append(files, File{
			Path: o.Dir + "/" + app.Name + "-" + c.Name + "." + o.Section,
			Data: commandPage(app, c, o),
		})
	}
	return files
}

func mainPage(app *cli.App, o ManOpts) []byte {
	var w roff
	w.header(app.Name, o)
	w.section("NAME")
	w.text(app.Name + " - " + app.Usage)
	w.section("SYNOPSIS")
	w.macro("B", app.Name)
	w.raw(`[\fIglobal options\fR] \fIcommand\fR [\fIcommand options\fR] [\fIarguments\fR...]`)
	w.section("DESCRIPTION")
	desc := app.Description
	if desc == "" {
		desc = app.Usage
	}
	w.paragraphs(desc)
	w.section("GLOBAL OPTIONS")
	w.flags(app.VisibleFlags())
	w.section("COMMANDS")
	for _, c := range visibleCommands(app) {
		head := `\fB` + escape(c.Name) + `\fR`
		for _, a := range c.Aliases {
			head += `, \fB` + escape(a) + `\fR`
		}
		if c.ArgsUsage != "" {
			head += ` \fI` + escape(c.ArgsUsage) + `\fR`
		}
		w.macro("TP", "")
		w.raw(head)
		w.text(c.Usage + ".")
		w.raw(`See \fB` + escape(app.Name+"-"+c.Name) + `\fR(` + o.Section + `).`)
	}
	if env := envVars(app); len(env) > 0 {
		w.section("ENVIRONMENT")
		for _, e := range env {
			w.macro("TP", "")
			w.raw(`\fB` + escape(e.name) + `\fR`)
			w.text(e.usage)
		}
	}
	for _, s := range o.Extra {
		w.section(s.Title)
		for i, p := range s.Paragraphs {
			if i > 0 {
				w.macro("PP", "")
			}
			w.paragraph(p)
		}
	}
	w.section("SEE ALSO")
	var refs []string
	for _, c := range visibleCommands(app) {
		refs = append(refs, app.Name+"-"+c.Name+"("+o.Section+")")
	}
	w.seeAlso(append(refs, o.SeeAlso...))
	return w.bytes()
}

func commandPage(app *cli.App, c *cli.Command, o ManOpts) []byte {
	var w roff
	name := app.Name + "-" + c.Name
	w.header(name, o)
	w.section("NAME")
	w.text(name + " - " + c.Usage)
	w.section("SYNOPSIS")
	w.macro("B", app.Name)
	w.raw(`[\fIglobal options\fR]`)
	w.macro("B", c.Name)
	syn := ""
	if len(visibleFlags(c.Flags)) > 0 {
		syn = `[\fIoptions\fR]`
	}
	if c.ArgsUsage != "" {
		syn += ` \fI` + escape(c.ArgsUsage) + `\fR`
	}
	if syn = strings.TrimSpace(syn); syn != "" {
		w.raw(syn)
	}
	if len(c.Aliases) > 0 {
		w.macro("PP", "")
		w.text("Also known as " + strings.Join(c.Aliases, ", ") + ".")
	}
	w.section("DESCRIPTION")
	desc := c.Description
	if desc == "" {
		desc = strings.ToUpper(c.Usage[:1]) + c.Usage[1:] + "."
	}
	w.paragraphs(desc)
	if fs := visibleFlags(c.Flags); len(fs) > 0 {
		w.section("OPTIONS")
		w.flags(fs)
	}
	w.section("SEE ALSO")
	w.seeAlso(append([]string{app.Name + "(" + o.Section + ")"}, o.SeeAlso...))
	return w.bytes()
}

// visibleCommands are the commands a user is told about (not help, not
// hidden ones), in the order the app lists them.
func visibleCommands(app *cli.App) []*cli.Command {
	var out []*cli.Command
	for _, c := range app.Commands {
		if c.Hidden || c.Name == "help" {
			continue
		}
		out = append(out, c)
	}
	return out
}

func visibleFlags(fs []cli.Flag) []cli.Flag {
	var out []cli.Flag
	for _, f := range fs {
		if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
			continue
		}
		out = append(out, f)
	}
	return out
}

type envVar struct{ name, usage string }

// envVars are the environment variables that set global flags.
func envVars(app *cli.App) []envVar {
	var out []envVar
	for _, f := range visibleFlags(app.Flags) {
		d, ok := f.(cli.DocGenerationFlag)
		if !ok {
			continue
		}
		for _, e := range d.GetEnvVars() {
			out = append(out, envVar{e, "Sets --" + f.Names()[0] + ": " + d.GetUsage() + "."})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// flagDefault is the default a flag's page shows, or "" when it has none
// worth telling (false, 0, empty).
func flagDefault(f cli.DocGenerationFlag) string {
	if !f.TakesValue() {
		return ""
	}
	d := f.GetDefaultText()
	switch d {
	case "", `""`, "0", "[]", "0s":
		return ""
	}
	return d
}

// placeholder names what a flag's value is, by its type.
func placeholder(f cli.Flag) string {
	switch f.(type) {
	case *cli.UintFlag, *cli.IntFlag, *cli.Int64Flag, *cli.Uint64Flag:
		return "n"
	case *cli.DurationFlag:
		return "duration"
	}
	return "value"
}

// roff builds a man(7) page.
type roff struct{ b strings.Builder }

func (w *roff) bytes() []byte { return []byte(w.b.String()) }

func (w *roff) header(name string, o ManOpts) {
	w.b.WriteString(`.\" Generated by "make docs" from teu's command definitions; do not edit.` + "\n")
	fmt.Fprintf(&w.b, ".TH %s %s \"\" \"teu\" \"%s\"\n", strings.ToUpper(escape(name)), o.Section, o.Title)
	// No hyphenation, ragged right: names like $XDG_RUNTIME_DIR must not
	// break.
	w.b.WriteString(".nh\n.ad l\n")
}

func (w *roff) section(title string) { w.macro("SH", title) }

func (w *roff) macro(m, arg string) {
	if arg == "" {
		w.b.WriteString("." + m + "\n")
		return
	}
	if strings.ContainsAny(arg, " \t") {
		arg = `"` + arg + `"`
	}
	w.b.WriteString("." + m + " " + escape(arg) + "\n")
}

// raw writes a line that is already roff.
func (w *roff) raw(line string) { w.b.WriteString(line + "\n") }

// text writes plain text as one filled line.
func (w *roff) text(s string) { w.b.WriteString(escapeLine(s) + "\n") }

// paragraphs writes text whose paragraphs are separated by blank lines;
// lines within one are refilled by the formatter.
func (w *roff) paragraphs(s string) {
	for i, p := range strings.Split(strings.TrimSpace(s), "\n\n") {
		if i > 0 {
			w.macro("PP", "")
		}
		w.paragraph(p)
	}
}

// paragraph writes one paragraph: filled text, or a literal block when
// every line is indented.
func (w *roff) paragraph(p string) {
	lines := strings.Split(p, "\n")
	literal := true
	for _, l := range lines {
		if !strings.HasPrefix(l, "  ") {
			literal = false
		}
	}
	if literal {
		w.raw(".RS\n.nf")
		for _, l := range lines {
			w.text(strings.TrimPrefix(l, "  "))
		}
		w.raw(".fi\n.RE")
		return
	}
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			w.text(l)
		}
	}
}

func (w *roff) flags(fs []cli.Flag) {
	for _, f := range fs {
		d, ok := f.(cli.DocGenerationFlag)
		if !ok {
			continue
		}
		var names []string
		for _, n := range f.Names() {
			dash := "-"
			if len(n) > 1 {
				dash = "--"
			}
			names = append(names, `\fB`+escape(dash+n)+`\fR`)
		}
		head := strings.Join(names, ", ")
		if d.TakesValue() {
			head += ` \fI` + placeholder(f) + `\fR`
		}
		w.macro("TP", "")
		w.raw(head)
		usage := d.GetUsage()
		if def := flagDefault(d); def != "" {
			usage += " (default: " + def + ")"
		}
		if s, ok := f.(cli.DocGenerationSliceFlag); ok && s.IsSliceFlag() && !strings.Contains(usage, "repeatable") {
			usage += " (repeatable)"
		}
		if env := d.GetEnvVars(); len(env) > 0 {
			usage += " (environment: " + strings.Join(env, ", ") + ")"
		}
		w.text(usage)
	}
}

func (w *roff) seeAlso(refs []string) {
	var parts []string
	for _, r := range refs {
		name, sec, ok := strings.Cut(r, "(")
		if !ok {
			parts = append(parts, escape(r))
			continue
		}
		parts = append(parts, `\fB`+escape(name)+`\fR(`+sec)
	}
	w.raw(strings.Join(parts, ",\n"))
}

// escape makes s safe inside a roff line: backslashes and hyphens (a
// plain "-" may be set as a hyphen, which breaks copying flags).
func escape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	return strings.ReplaceAll(s, "-", `\-`)
}

// escapeLine is escape for a whole text line: one starting with a dot or
// an apostrophe would be read as a request.
func escapeLine(s string) string {
	s = escape(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
