package libcontainer

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/state"
	"github.com/teu-runtime/teu/libcontainer/system"
)

// fakeInit stores a created container whose init is a shell of this
// test's own: it writes script's output to exec.fifo once start opens it,
// as the executor does, then sleeps until killed.
func fakeInit(t *testing.T, spec *specs.Spec, script string) *Container {
	t.Helper()
	root := storeContainer(t, state.State{ID: "c"}, spec, true)
	fifo := filepath.Join(root, "c", state.FifoFile)
	cmd := exec.Command("/bin/sh", "-c", "{ "+script+"; } > "+fifo+"; exec sleep 30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	c, err := Load(root, "c")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	c.state.InitPid = cmd.Process.Pid
	if c.state.InitStartTime, err = system.StartTime(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestStartRunsPoststart(t *testing.T) {
	out := filepath.Join(t.TempDir(), "poststart")
	spec := &specs.Spec{Version: specs.Version, Hooks: &specs.Hooks{Poststart: []specs.Hook{
		{Path: "/bin/sh", Args: []string{"sh", "-c", "cat > " + out}},
	}}}
	c := fakeInit(t, spec, "printf 0")
	if st := c.Status(); st != Created {
		t.Fatalf("status %s, want created", st)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if st := c.Status(); st != Running {
		t.Errorf("status after start: %s", st)
	}
	var st specs.State
	data, _ := os.ReadFile(out)
	if err := json.Unmarshal(data, &st); err != nil || st.Status != specs.StateRunning || st.Pid != c.state.InitPid {
		t.Errorf("poststart hook read %q", data)
	}
	if err := c.Start(); err == nil || !strings.Contains(err.Error(), "it is running, not created") {
		t.Errorf("second start: %v", err)
	}
	// Signal 0 asks only whether the init is there; TERM ends it.
	if err := c.Signal(0, false); err != nil {
		t.Errorf("signal 0: %v", err)
	}
	if err := c.Signal(unix.SIGTERM, false); err != nil {
		t.Fatal(err)
	}
	fd, err := system.PidFD(c.state.InitPid, c.state.InitStartTime)
	if err == nil {
		system.WaitPidFD(fd)
		unix.Close(fd)
	}
}

func TestStartReportsInitFailure(t *testing.T) {
	c := fakeInit(t, &specs.Spec{Version: specs.Version}, "printf 0garbage")
	err := c.Start()
	if err == nil || err.Error() != "start c: container init failed" {
		t.Errorf("Start = %v", err)
	}
	if _, err := os.Stat(c.dir.File(state.FifoFile)); err == nil {
		t.Error("exec.fifo left after start")
	}
}

func TestSignalStopped(t *testing.T) {
	c := &Container{root: t.TempDir(), state: state.State{ID: "s"}}
	if err := c.Signal(unix.SIGTERM, false); err == nil || err.Error() != "container not running" {
		t.Errorf("signal to a stopped container: %v", err)
	}
	if err := c.Signal(unix.SIGKILL, true); err != nil {
		t.Errorf("kill --all of a stopped container: %v", err)
	}
}

func TestExecRefuses(t *testing.T) {
	stopped := &Container{root: t.TempDir(), state: state.State{ID: "s"}}
	if _, err := stopped.Exec(&ExecOpts{}); err == nil || err.Error() != "exec s: container is stopped, not running" {
		t.Errorf("exec in a stopped container: %v", err)
	}
	c := fakeInit(t, &specs.Spec{Version: specs.Version}, "printf 0")
	proc := func(edit func(p *specs.Process)) *specs.Process {
		p := &specs.Process{Args: []string{"true"}, Cwd: "/"}
		edit(p)
		return p
	}
	for _, tc := range []struct {
		name string
		o    ExecOpts
		err  string
	}{
		{"no process", ExecOpts{}, "no process"},
		{"no args", ExecOpts{Process: proc(func(p *specs.Process) { p.Args = nil })}, "args"},
		{"relative cwd", ExecOpts{Process: proc(func(p *specs.Process) { p.Cwd = "x" })}, "cwd"},
		{"terminal alone", ExecOpts{Process: proc(func(p *specs.Process) { p.Terminal = true })}, "needs --console-socket"},
		{"console without terminal", ExecOpts{Process: proc(func(*specs.Process) {}), ConsoleSocket: "/s"}, "without a terminal"},
	} {
		if _, err := c.Exec(&tc.o); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.err)
		}
	}
}
