package libcontainer

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/plan"
	"github.com/teu-runtime/teu/libcontainer/state"
)

func TestListenFds(t *testing.T) {
	self := strconv.Itoa(os.Getpid())
	for _, tc := range []struct {
		fds, pid string
		want     int
	}{
		{"", "", 0},
		{"2", "", 2},
		{"2", self, 2},
		{"2", "1", 0}, // meant for another process
		{"0", "", 0},
		{"-3", "", 0},
		{"x", "", 0},
	} {
		t.Setenv("LISTEN_FDS", tc.fds)
		t.Setenv("LISTEN_PID", tc.pid)
		if got := listenFds(); got != tc.want {
			t.Errorf("LISTEN_FDS=%q LISTEN_PID=%q: %d, want %d", tc.fds, tc.pid, got, tc.want)
		}
	}
}

// An fd teu (or the Go runtime) opened itself is never passed on as a
// preserved fd.
func TestInheritedFileNotOurs(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, fd := range []int{int(r.Fd()), int(w.Fd())} {
		if f := inheritedFile(fd); f != nil {
			t.Errorf("fd %d, opened by the test, would be preserved", fd)
		}
	}
}

func TestDescribeDeath(t *testing.T) {
	withMem := &launcher{spec: &specs.Spec{Linux: &specs.Linux{Resources: &specs.LinuxResources{Memory: &specs.LinuxMemory{}}}}}
	without := &launcher{spec: &specs.Spec{Linux: &specs.Linux{}}}
	killed := func(sig unix.Signal) unix.WaitStatus { return unix.WaitStatus(sig) }
	for _, tc := range []struct {
		l    *launcher
		ws   unix.WaitStatus
		want string
	}{
		{withMem, killed(unix.SIGKILL), ": killed by SIGKILL (out of memory under the container's memory limit?)"},
		{without, killed(unix.SIGKILL), ": killed by SIGKILL"},
		{withMem, killed(unix.SIGSEGV), ": killed by SIGSEGV"},
		{withMem, unix.WaitStatus(3 << 8), ": exit status 3"},
	} {
		if got := tc.l.describeDeath(tc.ws); got != tc.want {
			t.Errorf("describeDeath(%#x) = %q, want %q", uint32(tc.ws), got, tc.want)
		}
	}
}

// --trace sums the executor's step times by phase, in order; steps not
// run or of no phase count for none.
func TestTraceSteps(t *testing.T) {
	var b plan.Builder
	b.Add("before", plan.OpSetsid) // 0, no phase
	b.Phase("mounts")
	b.Add("m1", plan.OpSetsid) // 1
	b.Add("m2", plan.OpSetsid) // 2
	b.Add("m3", plan.OpSetsid) // 3, skipped
	b.Phase("pivot")
	b.Add("p1", plan.OpSetsid) // 4
	b.Phase("mounts")
	b.Add("m4", plan.OpSetsid) // 5
	type call struct {
		phase string
		d     time.Duration
	}
	var got []call
	trace := func(p string, d time.Duration) { got = append(got, call{p, d}) }
	// From step 1 on: step 0's time was reported before.
	traceSteps(&b, 1, []uint32{10, 20, plan.Skipped, 5, 7, 99}, trace)
	want := []call{{"init mounts", 30 * time.Microsecond}, {"init pivot", 5 * time.Microsecond}, {"init mounts", 7 * time.Microsecond}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("traced %v, want %v", got, want)
	}
	got = nil
	traceSteps(&b, 0, []uint32{3}, trace)
	if got != nil {
		t.Errorf("a step of no phase traced %v", got)
	}
}

func TestSortedIDs(t *testing.T) {
	if got := sortedIDs(map[int]bool{30: true, 4: true, 101: true}); !reflect.DeepEqual(got, []int{4, 30, 101}) {
		t.Errorf("sortedIDs = %v", got)
	}
	if got := sortedIDs(nil); len(got) != 0 {
		t.Errorf("sortedIDs(nil) = %v", got)
	}
}

// abort of a failed create kills its init, destroys its cgroup and the
// parents create made above it; a cgroup that stays keeps its parents.
func TestAbort(t *testing.T) {
	top := filepath.Join(t.TempDir(), "pod")
	if err := os.Mkdir(top, 0o755); err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{"": filepath.Join(top, "c")}
	f := &fakeCgroup{paths: paths, destroyErr: errors.New("EBUSY")}
	res := sleeper(t)
	l := &launcher{c: &Container{state: state.State{ID: "c", Resources: res}}, cgroup: f, cgroupParents: map[string]string{"": top}}
	l.abort()
	if res.InitAlive() {
		t.Error("the init survived abort")
	}
	if _, err := os.Stat(top); err != nil {
		t.Errorf("a parent of a cgroup that stays went: %v", err)
	}
	f.destroyErr = nil
	l.abort()
	if _, err := os.Stat(top); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the parent create made is left: %v", err)
	}
	if want := []string{"destroy", "destroy"}; !reflect.DeepEqual(f.calls, want) {
		t.Errorf("cgroup calls %v, want %v", f.calls, want)
	}
}
