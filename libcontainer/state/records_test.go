package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/teu-runtime/teu/libcontainer/system"
)

// stateDirFor makes a locked state dir for id under a temp root.
func stateDirFor(t *testing.T, id string) *Dir {
	t.Helper()
	d, err := New(t.TempDir(), id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Unlock)
	return d
}

func writeRaw(t *testing.T, d *Dir, name, data string) {
	t.Helper()
	if err := os.WriteFile(d.File(name), []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// self is this test process as a container's init: alive for sure.
func self(t *testing.T) Resources {
	t.Helper()
	st, err := system.StartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	return Resources{InitPid: os.Getpid(), InitStartTime: st, CgroupPaths: map[string]string{"": "/sys/fs/cgroup/x"}}
}

func TestSaveIsAtomicAndLeavesNoTemp(t *testing.T) {
	d := stateDirFor(t, "c1")
	st := State{Version: Version, ID: "c1", Bundle: "/b"}
	if err := d.Save(JSONFile{File, &st}, JSONFile{ConfigFile, map[string]int{"a": 1}}); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(d.path)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "config.json state.json" {
		t.Fatalf("state dir holds %v", names)
	}
	got, stub, err := Read(d.path, "c1")
	if err != nil || stub || got.Bundle != "/b" {
		t.Fatalf("Read = %+v, %v, %v", got, stub, err)
	}
}

func TestReadStateCreatingTakesTheRecords(t *testing.T) {
	d := stateDirFor(t, "c1")
	st := State{Version: Version, ID: "c1", Creating: true}
	rec := &Records{Version: Version, ID: "c1", Resources: self(t)}
	if err := d.Save(JSONFile{File, &st}, JSONFile{ResourcesFile, rec}); err != nil {
		t.Fatal(err)
	}
	got, _, err := Read(d.path, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if got.InitPid != os.Getpid() || got.CgroupPaths[""] != "/sys/fs/cgroup/x" {
		t.Fatalf("the records were not merged: %+v", got)
	}
	// Once create is over, state.json alone counts.
	st.Creating = false
	if err := d.WriteJSON(File, &st); err != nil {
		t.Fatal(err)
	}
	writeRaw(t, d, ResourcesFile, "garbage")
	if got, _, err = Read(d.path, "c1"); err != nil || got.InitPid != 0 {
		t.Fatalf("Read = %+v, %v", got, err)
	}
}

func TestReadStateStubAndNotExist(t *testing.T) {
	d := stateDirFor(t, "c1")
	got, stub, err := Read(d.path, "c1")
	if err != nil || !stub || got.ID != "c1" || !got.Creating {
		t.Fatalf("empty dir: %+v, %v, %v", got, stub, err)
	}
	// config.json alone: create died before its state; it made nothing.
	writeRaw(t, d, ConfigFile, "{}")
	if _, stub, err = Read(d.path, "c1"); err != nil || !stub {
		t.Fatalf("config only: %v, %v", stub, err)
	}
	if _, _, err = Read(filepath.Join(filepath.Dir(d.path), "nope"), "nope"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("no dir: %v", err)
	}
}

func TestReadStateDamaged(t *testing.T) {
	good := State{Version: Version, ID: "c1"}
	for _, tc := range []struct {
		name, state, want string
	}{
		{"null", "null", "no container id in it"},
		{"empty", "", "unexpected end of JSON input"},
		{"truncated", `{"version":1,"id":"c1","bun`, "unexpected end of JSON input"},
		{"garbage", "\x00garbage", "invalid character"},
		{"empty id", `{"version":1,"id":""}`, "no container id in it"},
		{"other id", `{"version":1,"id":"c2"}`, `it names container "c2", not "c1"`},
		{"version", `{"version":2,"id":"c1"}`, "format version 2, which this teu (version 1) does not know"},
		{"negative pid", `{"version":1,"id":"c1","init_pid":-1}`, "a negative pid"},
		{"missing", "-", "missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := stateDirFor(t, "c1")
			rec := &Records{Version: Version, ID: "c1", Resources: self(t)}
			if err := d.Save(JSONFile{File, &good}, JSONFile{ResourcesFile, rec}); err != nil {
				t.Fatal(err)
			}
			if tc.state == "-" {
				os.Remove(d.File(File))
			} else {
				writeRaw(t, d, File, tc.state)
			}
			_, _, err := Read(d.path, "c1")
			var dmg *Damaged
			if !errors.As(err, &dmg) {
				t.Fatalf("not a Damaged: %v", err)
			}
			msg := err.Error()
			for _, w := range []string{"container c1: " + d.File(File) + ": " + tc.want, "is alive", ResourcesFile} {
				if !strings.Contains(msg, w) {
					t.Errorf("%q lacks %q", msg, w)
				}
			}
			if strings.Count(msg, d.File(File)) != 1 {
				t.Errorf("%q names the file more than once", msg)
			}
			if dmg.LivePid() != os.Getpid() {
				t.Errorf("LivePid = %d", dmg.LivePid())
			}
			st, ok := dmg.Recovered()
			if !ok || st.InitPid != os.Getpid() || st.ID != "c1" || !st.Creating {
				t.Errorf("recovered = %+v, %v", st, ok)
			}
		})
	}
}

func TestReadStateNoRecordRefuses(t *testing.T) {
	for _, rec := range []string{"", "null", `{"version":1,"id":"c2"}`} {
		d := stateDirFor(t, "c1")
		writeRaw(t, d, File, "null")
		if rec != "" {
			writeRaw(t, d, ResourcesFile, rec)
		}
		_, _, err := Read(d.path, "c1")
		var dmg *Damaged
		if !errors.As(err, &dmg) {
			t.Fatalf("records %q: not a Damaged: %v", rec, err)
		}
		if _, ok := dmg.Recovered(); ok {
			t.Errorf("records %q: recovered", rec)
		}
		if !strings.Contains(err.Error(), "delete --force refuses") {
			t.Errorf("records %q: %v", rec, err)
		}
	}
	// While creating, a damaged resources.json is the damage.
	d := stateDirFor(t, "c1")
	if err := d.WriteJSON(File, &State{Version: Version, ID: "c1", Creating: true}); err != nil {
		t.Fatal(err)
	}
	writeRaw(t, d, ResourcesFile, "{")
	_, _, err := Read(d.path, "c1")
	var dmg *Damaged
	if !errors.As(err, &dmg) || dmg.Path != d.File(ResourcesFile) || !strings.Contains(err.Error(), "refuses") {
		t.Fatalf("creating, bad records: %v", err)
	}
}

func TestVersionZeroIsRead(t *testing.T) {
	// The format before versions: state.json without "version".
	d := stateDirFor(t, "c1")
	writeRaw(t, d, File, `{"id":"c1","init_pid":0,"bundle":"/b"}`)
	if st, _, err := Read(d.path, "c1"); err != nil || st.Bundle != "/b" {
		t.Fatalf("Read = %+v, %v", st, err)
	}
}
