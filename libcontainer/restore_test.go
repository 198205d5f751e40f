package libcontainer

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/checkpoint-restore/go-criu/v8/rpc"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/teu-runtime/teu/libcontainer/cgroups"
	"github.com/teu-runtime/teu/libcontainer/criu"
	"github.com/teu-runtime/teu/libcontainer/state"
)

// imageDir makes a directory that looks like a checkpoint's images: an
// inventory.img and, unless descriptors is "", a descriptors.json.
func imageDir(t *testing.T, descriptors string) string {
	t.Helper()
	d := t.TempDir()
	if err := os.WriteFile(filepath.Join(d, "inventory.img"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if descriptors != "" {
		if err := os.WriteFile(filepath.Join(d, criu.DescriptorsFile), []byte(descriptors), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func TestRestoreCheck(t *testing.T) {
	good := imageDir(t, `["pipe:[1]","/dev/null","tty[88:3]"]`)
	for _, tc := range []struct {
		name     string
		terminal bool
		o        RestoreOpts
		err      string
	}{
		{"plain", false, RestoreOpts{CriuOpts: CriuOpts{ImagePath: good}}, ""},
		{"terminal, attached", true, RestoreOpts{CriuOpts: CriuOpts{ImagePath: good, ShellJob: true}}, ""},
		{"terminal, console socket", true, RestoreOpts{CriuOpts: CriuOpts{ImagePath: good}, ConsoleSocket: "/s"}, ""},
		{"terminal alone", true, RestoreOpts{CriuOpts: CriuOpts{ImagePath: good}}, "needs --console-socket"},
		{"console socket without terminal", false, RestoreOpts{CriuOpts: CriuOpts{ImagePath: good}, ConsoleSocket: "/s"}, "process.terminal is false"},
		{"bad cgroup mode", false, RestoreOpts{CriuOpts: CriuOpts{ImagePath: good, ManageCgroupsMode: "x"}}, `"x"`},
		{"bad empty ns", false, RestoreOpts{CriuOpts: CriuOpts{ImagePath: good, EmptyNs: []string{"x"}}}, `"x"`},
		{"no images", false, RestoreOpts{CriuOpts: CriuOpts{ImagePath: filepath.Join(good, "none")}}, "does not exist"},
		{"not teu's images", false, RestoreOpts{CriuOpts: CriuOpts{ImagePath: imageDir(t, "")}}, "holds no container checkpoint"},
		{"bad descriptors", false, RestoreOpts{CriuOpts: CriuOpts{ImagePath: imageDir(t, "{")}}, criu.DescriptorsFile},
	} {
		tc.o.Spec = &specs.Spec{Process: &specs.Process{Terminal: tc.terminal}}
		a, err := tc.o.check()
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: check = %v, want %q", tc.name, err, tc.err)
			continue
		}
		if err == nil && !reflect.DeepEqual(a.stdio, []string{"pipe:[1]", "/dev/null", "tty[88:3]"}) {
			t.Errorf("%s: stdio %q", tc.name, a.stdio)
		}
	}
}

func TestRestoreOpts(t *testing.T) {
	o := &RestoreOpts{CriuOpts: CriuOpts{ImagePath: imageDir(t, "[]"), ManageCgroupsMode: "soft", TCPEstablished: true,
		LazyPages: true, LsmProfile: "apparmor:p", LsmMountContext: "ctx"}, Spec: &specs.Spec{Process: &specs.Process{}}}
	a, err := o.check()
	if err != nil {
		t.Fatal(err)
	}
	opts := o.restoreOpts(a, map[string]string{criuConfigAnnotation: "/etc/c.conf"})
	if opts.GetManageCgroupsMode() != rpc.CriuCgMode_SOFT || !opts.GetTcpEstablished() || !opts.GetLazyPages() ||
		opts.GetShellJob() || !opts.GetRstSibling() || opts.GetLogFile() != "restore.log" {
		t.Errorf("flags: %v", opts)
	}
	if opts.GetLsmProfile() != "apparmor:p" || opts.GetLsmMountContext() != "ctx" || opts.GetConfigFile() != "/etc/c.conf" {
		t.Errorf("lsm and config: %v", opts)
	}
	o.LsmProfile, o.LsmMountContext = "", ""
	opts = o.restoreOpts(a, nil)
	if opts.LsmProfile != nil || opts.LsmMountContext != nil || opts.GetConfigFile() != criuDefaultConfig {
		t.Errorf("without lsm flags or annotation: %v", opts)
	}
	if opts = o.restoreOpts(a, map[string]string{criuConfigAnnotation: ""}); opts.ConfigFile != nil {
		t.Errorf("an empty annotation asks for no config file: %v", opts.GetConfigFile())
	}
}

func TestRestoreRefusesEarly(t *testing.T) {
	b, s := planBundle(t)
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "taken"), 0o700); err != nil {
		t.Fatal(err)
	}
	o := &RestoreOpts{ID: "taken", Bundle: b, Spec: s, CriuOpts: CriuOpts{ImagePath: t.TempDir()}}
	if _, err := Restore(root, o); !errors.Is(err, state.ErrExist) {
		t.Errorf("restore over an existing id: %v", err)
	}
	o.ID = "../x"
	if _, err := Restore(root, o); err == nil || !strings.Contains(err.Error(), "invalid container id") {
		t.Errorf("restore with a bad id: %v", err)
	}
	o.ID = "new"
	_, err := Restore(root, o)
	if err == nil || !strings.HasPrefix(err.Error(), "restore new: ") || !strings.Contains(err.Error(), "no CRIU checkpoint") {
		t.Errorf("restore from an empty image dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "new")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused restore left state: %v", err)
	}
}

// restore records the cgroup's paths in state.json before Apply makes
// it, as create does: if Apply fails (or restore is killed in it), delete
// --force finds what it made.
func TestRestoreRecordsCgroupFirst(t *testing.T) {
	paths := map[string]string{"": "/fake/u"}
	spec := &specs.Spec{Linux: &specs.Linux{CgroupsPath: "s.slice:p:c"}}
	newRestorer := func(t *testing.T) *restorer {
		d, err := state.New(t.TempDir(), "c")
		if err != nil {
			t.Fatal(err)
		}
		c := &Container{dir: d, state: state.State{Version: state.Version, ID: "c", Creating: true,
			Resources: state.Resources{SystemdCgroup: true}}}
		return &restorer{o: &RestoreOpts{}, c: c, spec: spec, fault: &faults{}}
	}
	saved := func(t *testing.T, r *restorer) map[string]string {
		t.Helper()
		st, _, err := state.Read(r.c.dir.Path(), "c")
		if err != nil {
			t.Fatal(err)
		}
		return st.CgroupPaths
	}

	f := &fakeCgroup{paths: paths, applyErr: errors.New("no")}
	useFakeCgroup(t, f)
	r := newRestorer(t)
	if err := r.applyCgroup(1, &rpc.CriuOpts{}); err == nil || err.Error() != "apply cgroup: no" {
		t.Fatalf("applyCgroup = %v", err)
	}
	if got := saved(t, r); !reflect.DeepEqual(got, paths) {
		t.Errorf("Apply failed; state.json records %v, want %v", got, paths)
	}
	if r.cgroup != f {
		t.Error("the cgroup is not left for abort to remove")
	}

	// Refused before anything is recorded or made.
	for name, f := range map[string]*fakeCgroup{
		"busy":   {paths: paths, exists: true, pids: []int{42}},
		"frozen": {paths: paths, exists: true, state: cgroups.Frozen},
	} {
		useFakeCgroup(t, f)
		r := newRestorer(t)
		err := r.applyCgroup(1, &rpc.CriuOpts{})
		if err == nil || !strings.HasPrefix(err.Error(), "container's cgroup ") {
			t.Errorf("%s: applyCgroup = %v", name, err)
		}
		if len(f.calls) != 0 || r.cgroup != nil || saved(t, r) != nil {
			t.Errorf("%s: calls %v, manager %v, recorded %v", name, f.calls, r.cgroup, saved(t, r))
		}
	}

	// Made: CRIU is told to restore where this process's cgroups are
	// (the fake moved nothing).
	f = &fakeCgroup{paths: paths}
	useFakeCgroup(t, f)
	r = newRestorer(t)
	opts := &rpc.CriuOpts{}
	if err := r.applyCgroup(os.Getpid(), opts); err != nil {
		t.Fatal(err)
	}
	if got := saved(t, r); !reflect.DeepEqual(got, paths) || !reflect.DeepEqual(f.calls, []string{"apply " + strconv.Itoa(os.Getpid()), "set"}) {
		t.Errorf("recorded %v, calls %v", got, f.calls)
	}
	if len(opts.CgRoot) == 0 {
		t.Error("no cgroup roots for CRIU")
	}
}
