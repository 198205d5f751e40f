package libcontainer

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/checkpoint-restore/go-criu/v8/rpc"
	specs "github.com/opencontainers/runtime-spec/specs-go"

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
