package libcontainer

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/state"
	"github.com/teu-runtime/teu/libcontainer/system"
)

// storeContainer saves a container's state and spec under a temp root, as
// create leaves them, and returns the root.
func storeContainer(t *testing.T, st state.State, spec *specs.Spec, fifo bool) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "state")
	d, err := state.New(root, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Unlock()
	st.Version = state.Version
	if err := d.Save(state.JSONFile{Name: state.ConfigFile, Value: spec},
		state.JSONFile{Name: state.File, Value: &st}); err != nil {
		t.Fatal(err)
	}
	if fifo {
		if err := unix.Mkfifo(d.File(state.FifoFile), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// self is this test process as a container's init: alive for sure.
func self(t *testing.T) state.Resources {
	t.Helper()
	st, err := system.StartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	return state.Resources{InitPid: os.Getpid(), InitStartTime: st, CgroupPaths: map[string]string{"": "/sys/fs/cgroup/x"}}
}

func TestLoadStoppedContainer(t *testing.T) {
	spec := &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{Args: []string{"sh"}, Cwd: "/", Env: []string{"A=1"}},
		Hooks:   &specs.Hooks{Poststart: []specs.Hook{{Path: "/bin/true"}}},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}},
			Resources:  &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(5))}},
		},
		Annotations: map[string]string{"a": "b"},
	}
	root := storeContainer(t, state.State{ID: "c1", Bundle: "/b", Annotations: spec.Annotations}, spec, false)
	c, err := Load(root, "c1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.ID() != "c1" || c.State().Bundle != "/b" {
		t.Errorf("loaded %+v", c.State())
	}
	if st := c.Status(); st != Stopped {
		t.Errorf("a container without an init is %s", st)
	}
	oci := c.OCIState()
	if oci.Status != specs.StateStopped || oci.Pid != 0 || oci.ID != "c1" || oci.Annotations["a"] != "b" {
		t.Errorf("OCIState = %+v", oci)
	}
	full, err := c.Config()
	if err != nil || full.Linux.Resources.Pids == nil {
		t.Fatalf("Config = %+v, %v", full, err)
	}
	ps, err := c.ProcessConfig()
	if err != nil || ps.Process.Args[0] != "sh" || ps.Process.Env[0] != "A=1" {
		t.Fatalf("ProcessConfig = %+v, %v", ps, err)
	}
	hs, err := c.hooksAndNamespaces()
	if err != nil || len(hs.Hooks.Poststart) != 1 || !hasNewNs(hs, specs.PIDNamespace) || hs.Process != nil {
		t.Fatalf("hooksAndNamespaces = %+v, %v", hs, err)
	}
	// The lock is held until Close: LoadState still reads.
	if !state.LockedByOther(c.stateDirPath()) {
		t.Error("Load did not lock the state dir")
	}
	if ro, err := LoadState(root, "c1"); err != nil || ro.Status() != Stopped {
		t.Errorf("LoadState = %v, %v", ro, err)
	}
}

func TestLoadErrors(t *testing.T) {
	root := t.TempDir()
	if _, err := Load(root, "../x"); err == nil || !strings.Contains(err.Error(), "invalid container id") {
		t.Errorf("Load(../x) = %v", err)
	}
	if _, err := LoadState(root, ""); err == nil {
		t.Error("LoadState of an empty id succeeded")
	}
	if _, err := Load(root, "none"); !errors.Is(err, state.ErrNotExist) {
		t.Errorf("Load of a missing container: %v", err)
	}
	if _, err := LoadState(root, "none"); !errors.Is(err, state.ErrNotExist) {
		t.Errorf("LoadState of a missing container: %v", err)
	}
	os.Mkdir(filepath.Join(root, "bad"), 0o700)
	os.WriteFile(filepath.Join(root, "bad", state.File), []byte("{"), 0o600)
	var dmg *state.Damaged
	if _, err := Load(root, "bad"); !errors.As(err, &dmg) {
		t.Errorf("Load of a damaged state: %v", err)
	}
}

func TestStatusCreatedAndCreating(t *testing.T) {
	spec := &specs.Spec{Version: specs.Version}
	// This test process stands for a live init.
	root := storeContainer(t, state.State{ID: "c", Resources: self(t)}, spec, true)
	c, err := LoadState(root, "c")
	if err != nil {
		t.Fatal(err)
	}
	c.state.CgroupPaths = nil // not frozen: no cgroup
	if st := c.Status(); st != Created {
		t.Errorf("live init and exec.fifo: %s, want created", st)
	}
	if pid := c.OCIState().Pid; pid != os.Getpid() {
		t.Errorf("OCIState pid = %d", pid)
	}
	os.Remove(filepath.Join(c.stateDirPath(), state.FifoFile))
	if st := c.Status(); st != Running {
		t.Errorf("live init without exec.fifo: %s, want running", st)
	}
	c.state.Creating = true
	if st := c.Status(); st != Creating {
		t.Errorf("creating with a live init: %s", st)
	}
	c.state.Resources = state.Resources{}
	if st := c.Status(); st != Stopped {
		t.Errorf("creating with nothing alive and no lock: %s, want stopped", st)
	}
}

func TestList(t *testing.T) {
	root := t.TempDir()
	if ids, err := List(filepath.Join(root, "none")); err != nil || ids != nil {
		t.Errorf("List of a missing root = %v, %v", ids, err)
	}
	for _, d := range []string{"b", "a", "..x"} {
		os.Mkdir(filepath.Join(root, d), 0o700)
	}
	os.Mkdir(filepath.Join(root, "in valid"), 0o700)
	os.WriteFile(filepath.Join(root, "file"), nil, 0o600)
	ids, err := List(root)
	slices.Sort(ids)
	if err != nil || strings.Join(ids, ",") != "..x,a,b" {
		t.Errorf("List = %v, %v", ids, err)
	}
}

func TestDeleteStopped(t *testing.T) {
	out := filepath.Join(t.TempDir(), "poststop")
	spec := &specs.Spec{Version: specs.Version, Hooks: &specs.Hooks{Poststop: []specs.Hook{
		{Path: "/bin/sh", Args: []string{"sh", "-c", "cat > " + out}},
	}}}
	root := storeContainer(t, state.State{ID: "d1", Bundle: "/b", Rootfs: t.TempDir()}, spec, false)
	c, err := Load(root, "d1")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "d1")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state dir left: %v", err)
	}
	var st specs.State
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal("poststop hook did not run: ", err)
	}
	if err := json.Unmarshal(data, &st); err != nil || st.Status != specs.StateStopped || st.ID != "d1" {
		t.Errorf("poststop hook read %s", data)
	}
	// delete --force of a container that is gone is no error.
	if err := DeleteForce(root, "d1"); err != nil {
		t.Errorf("DeleteForce of a deleted container: %v", err)
	}
}

func TestDeleteRefusesALiveContainer(t *testing.T) {
	root := storeContainer(t, state.State{ID: "live", Resources: state.Resources{InitPid: os.Getpid()}}, &specs.Spec{}, true)
	c, err := Load(root, "live")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.state.InitStartTime = self(t).InitStartTime
	err = c.Delete(false)
	if err == nil || !strings.Contains(err.Error(), "that is not stopped: created") {
		t.Fatalf("Delete of a created container: %v", err)
	}
	if _, err := os.Stat(c.stateDirPath()); err != nil {
		t.Errorf("refused delete removed the state: %v", err)
	}
}

func TestDeleteForceAndRemoveStale(t *testing.T) {
	root := storeContainer(t, state.State{ID: "f"}, &specs.Spec{}, false)
	if err := DeleteForce(root, "f"); err != nil {
		t.Fatal(err)
	}
	if err := DeleteForce(root, "a/b"); err == nil {
		t.Error("DeleteForce of an invalid id succeeded")
	}
	os.Mkdir(filepath.Join(root, "stale"), 0o700)
	if err := RemoveStale(root, "stale"); err != nil {
		t.Fatal(err)
	}
	if ids, _ := List(root); len(ids) != 0 {
		t.Errorf("left: %v", ids)
	}
	if err := RemoveStale(root, "stale"); !errors.Is(err, state.ErrNotExist) {
		t.Errorf("RemoveStale of a missing dir: %v", err)
	}
}

func TestParseSignal(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want unix.Signal
		err  string
	}{
		{"KILL", unix.SIGKILL, ""}, {"SIGKILL", unix.SIGKILL, ""}, {"kill", unix.SIGKILL, ""},
		{"sigterm", unix.SIGTERM, ""}, {"9", unix.SIGKILL, ""}, {"0", 0, ""}, {"64", 64, ""},
		{"HUP", unix.SIGHUP, ""}, {"-1", 0, "invalid signal"}, {"65", 0, "invalid signal"},
		{"NOPE", 0, "unknown signal"}, {"", 0, "unknown signal"},
	} {
		got, err := ParseSignal(tc.in)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ParseSignal(%q) = %v, %v; want %v, %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// A lazy checkpoint records its CRIU and lets the lock go; relock takes
// it again only for the container it left.
func TestRecordCriuAndRelock(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	root := storeContainer(t, state.State{ID: "c1", Created: created}, &specs.Spec{}, false)
	c, err := Load(root, "c1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.recordCriu(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	c.dir.Unlock()
	if state.LockedByOther(filepath.Join(root, "c1")) {
		t.Fatal("still locked after unlock")
	}
	// What delete --force reads: state.json and resources.json name it.
	other, err := LoadState(root, "c1")
	if err != nil || other.state.CriuPid != os.Getpid() || other.state.CriuStartTime == 0 {
		t.Fatalf("state after recordCriu: %+v, %v", other.state.Resources, err)
	}
	rec, err := state.ReadRecords(filepath.Join(root, "c1"), "c1")
	if err != nil || rec.CriuPid != os.Getpid() {
		t.Fatalf("resources.json after recordCriu: %+v, %v", rec, err)
	}
	same, err := c.relock()
	if err != nil || !same {
		t.Fatalf("relock of the same container = %v, %v", same, err)
	}
	if err := c.recordCriu(0); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := state.Read(filepath.Join(root, "c1"), "c1"); st.CriuPid != 0 || st.CriuStartTime != 0 {
		t.Errorf("recordCriu(0) left %d/%d", st.CriuPid, st.CriuStartTime)
	}

	// Made anew under the same id while unlocked: not ours.
	c.dir.Unlock()
	d, err := state.Open(root, "c1")
	if err != nil {
		t.Fatal(err)
	}
	st := c.state
	st.Created = created.Add(time.Second)
	if err := d.Save(state.JSONFile{Name: state.File, Value: &st}); err != nil {
		t.Fatal(err)
	}
	d.Unlock()
	if same, err := c.relock(); err != nil || same {
		t.Errorf("relock of a container made anew = %v, %v", same, err)
	}
	// Deleted meanwhile: not ours either, and no error.
	if err := os.RemoveAll(filepath.Join(root, "c1")); err != nil {
		t.Fatal(err)
	}
	if same, err := c.relock(); err != nil || same {
		t.Errorf("relock of a deleted container = %v, %v", same, err)
	}
}
