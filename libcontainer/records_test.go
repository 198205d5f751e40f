package libcontainer

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/teu-runtime/teu/libcontainer/system"
)

// stateDirFor makes a locked state dir for id under a temp root.
func stateDirFor(t *testing.T, id string) *stateDir {
	t.Helper()
	d, err := newStateDir(t.TempDir(), id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.unlock)
	return d
}

func writeRaw(t *testing.T, d *stateDir, name, data string) {
	t.Helper()
	if err := os.WriteFile(d.file(name), []byte(data), 0o600); err != nil {
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
	st := State{Version: stateVersion, ID: "c1", Bundle: "/b"}
	if err := d.save(jsonFile{stateFile, &st}, jsonFile{configFile, map[string]int{"a": 1}}); err != nil {
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
	got, stub, err := readState(d.path, "c1")
	if err != nil || stub || got.Bundle != "/b" {
		t.Fatalf("readState = %+v, %v, %v", got, stub, err)
	}
}

func TestReadStateCreatingTakesTheRecords(t *testing.T) {
	d := stateDirFor(t, "c1")
	st := State{Version: stateVersion, ID: "c1", Creating: true}
	rec := &records{Version: stateVersion, ID: "c1", Resources: self(t)}
	if err := d.save(jsonFile{stateFile, &st}, jsonFile{resourcesFile, rec}); err != nil {
		t.Fatal(err)
	}
	got, _, err := readState(d.path, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if got.InitPid != os.Getpid() || got.CgroupPaths[""] != "/sys/fs/cgroup/x" {
		t.Fatalf("the records were not merged: %+v", got)
	}
	// Once create is over, state.json alone counts.
	st.Creating = false
	if err := d.writeJSON(stateFile, &st); err != nil {
		t.Fatal(err)
	}
	writeRaw(t, d, resourcesFile, "garbage")
	if got, _, err = readState(d.path, "c1"); err != nil || got.InitPid != 0 {
		t.Fatalf("readState = %+v, %v", got, err)
	}
}

func TestReadStateStubAndNotExist(t *testing.T) {
	d := stateDirFor(t, "c1")
	got, stub, err := readState(d.path, "c1")
	if err != nil || !stub || got.ID != "c1" || !got.Creating {
		t.Fatalf("empty dir: %+v, %v, %v", got, stub, err)
	}
	// config.json alone: create died before its state; it made nothing.
	writeRaw(t, d, configFile, "{}")
	if _, stub, err = readState(d.path, "c1"); err != nil || !stub {
		t.Fatalf("config only: %v, %v", stub, err)
	}
	if _, _, err = readState(filepath.Join(filepath.Dir(d.path), "nope"), "nope"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("no dir: %v", err)
	}
}

func TestReadStateDamaged(t *testing.T) {
	good := State{Version: stateVersion, ID: "c1"}
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
			rec := &records{Version: stateVersion, ID: "c1", Resources: self(t)}
			if err := d.save(jsonFile{stateFile, &good}, jsonFile{resourcesFile, rec}); err != nil {
				t.Fatal(err)
			}
			if tc.state == "-" {
				os.Remove(d.file(stateFile))
			} else {
				writeRaw(t, d, stateFile, tc.state)
			}
			_, _, err := readState(d.path, "c1")
			var dmg *DamagedError
			if !errors.As(err, &dmg) {
				t.Fatalf("not a DamagedError: %v", err)
			}
			msg := err.Error()
			for _, w := range []string{"container c1: " + d.file(stateFile) + ": " + tc.want, "is alive", resourcesFile} {
				if !strings.Contains(msg, w) {
					t.Errorf("%q lacks %q", msg, w)
				}
			}
			if strings.Count(msg, d.file(stateFile)) != 1 {
				t.Errorf("%q names the file more than once", msg)
			}
			if dmg.LivePid() != os.Getpid() {
				t.Errorf("LivePid = %d", dmg.LivePid())
			}
			st, ok := dmg.recovered()
			if !ok || st.InitPid != os.Getpid() || st.ID != "c1" || !st.Creating {
				t.Errorf("recovered = %+v, %v", st, ok)
			}
		})
	}
}

func TestReadStateNoRecordRefuses(t *testing.T) {
	for _, rec := range []string{"", "null", `{"version":1,"id":"c2"}`} {
		d := stateDirFor(t, "c1")
		writeRaw(t, d, stateFile, "null")
		if rec != "" {
			writeRaw(t, d, resourcesFile, rec)
		}
		_, _, err := readState(d.path, "c1")
		var dmg *DamagedError
		if !errors.As(err, &dmg) {
			t.Fatalf("records %q: not a DamagedError: %v", rec, err)
		}
		if _, ok := dmg.recovered(); ok {
			t.Errorf("records %q: recovered", rec)
		}
		if !strings.Contains(err.Error(), "delete --force refuses") {
			t.Errorf("records %q: %v", rec, err)
		}
	}
	// While creating, a damaged resources.json is the damage.
	d := stateDirFor(t, "c1")
	if err := d.writeJSON(stateFile, &State{Version: stateVersion, ID: "c1", Creating: true}); err != nil {
		t.Fatal(err)
	}
	writeRaw(t, d, resourcesFile, "{")
	_, _, err := readState(d.path, "c1")
	var dmg *DamagedError
	if !errors.As(err, &dmg) || dmg.Path != d.file(resourcesFile) || !strings.Contains(err.Error(), "refuses") {
		t.Fatalf("creating, bad records: %v", err)
	}
}

func TestVersionZeroIsRead(t *testing.T) {
	// The format before versions: state.json without "version".
	d := stateDirFor(t, "c1")
	writeRaw(t, d, stateFile, `{"id":"c1","init_pid":0,"bundle":"/b"}`)
	if st, _, err := readState(d.path, "c1"); err != nil || st.Bundle != "/b" {
		t.Fatalf("readState = %+v, %v", st, err)
	}
}

func TestFaultsEnv(t *testing.T) {
	for v, want := range map[string]faults{
		"":                 {},
		"3":                {at: 3},
		"3:stop":           {at: 3, stop: true},
		"init ready":       {name: "init ready"},
		"cgroup made:stop": {name: "cgroup made", stop: true},
	} {
		t.Setenv(FaultEnv, v)
		f, err := newFaults()
		if err != nil || *f != want {
			t.Errorf("%q: %+v, %v", v, f, err)
		}
	}
	for _, v := range []string{"0", "-1", "3:kill", ":stop"} {
		t.Setenv(FaultEnv, v)
		if _, err := newFaults(); err == nil || !strings.Contains(err.Error(), FaultEnv) {
			t.Errorf("%q: %v", v, err)
		}
	}
	// Counting: only the step named is acted on (none here).
	f := &faults{at: 5}
	for range 4 {
		f.step("x")
	}
	if f.n != 4 {
		t.Fatalf("n = %d", f.n)
	}
}

// JSON bytes (create's config.json as read) are stored as they are; any
// other value is encoded.
func TestPutRawJSON(t *testing.T) {
	d, err := newStateDir(t.TempDir(), "c")
	if err != nil {
		t.Fatal(err)
	}
	defer d.unlock()
	raw := json.RawMessage(`{"ociVersion": "1.3.0",  "hostname":"h"}` + "\n")
	if err := d.save(jsonFile{configFile, raw}, jsonFile{"other.json", map[string]int{"a": 1}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(d.file(configFile)); string(got) != string(raw) {
		t.Errorf("config.json = %q, want the bytes as given", got)
	}
	if got, _ := os.ReadFile(d.file("other.json")); string(got) != `{"a":1}` {
		t.Errorf("other.json = %q", got)
	}
}
