package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/cgroups"
	"github.com/teu-runtime/teu/libcontainer/cgroups/systemd"
	"github.com/teu-runtime/teu/libcontainer/state"
	"github.com/teu-runtime/teu/libcontainer/system"
)

// fakeCgroup is a cgroups.Manager that touches no cgroup: it records what
// it is asked to do and answers what the test set.
type fakeCgroup struct {
	paths                        map[string]string
	exists                       bool
	pids                         []int
	state                        cgroups.FreezerState
	applyErr, setErr, destroyErr error

	calls  []string
	set    []*specs.LinuxResources
	cfg    cgroups.Config    // as the driver was given it
	loaded map[string]string // the paths Load passed (nil for New)
}

func (f *fakeCgroup) Apply(pid int) error {
	f.calls = append(f.calls, "apply "+strconv.Itoa(pid))
	return f.applyErr
}

func (f *fakeCgroup) Set(r *specs.LinuxResources) error {
	f.calls = append(f.calls, "set")
	if r != nil {
		cp := *r // the caller may change *r once Set returns (Update does)
		r = &cp
	}
	f.set = append(f.set, r)
	return f.setErr
}

func (f *fakeCgroup) Freeze() error {
	f.calls = append(f.calls, "freeze")
	f.state = cgroups.Frozen
	return nil
}

func (f *fakeCgroup) Thaw() error {
	f.calls = append(f.calls, "thaw")
	f.state = cgroups.Thawed
	return nil
}

func (f *fakeCgroup) FreezerState() (cgroups.FreezerState, error) {
	if f.state == "" {
		return cgroups.Thawed, nil
	}
	return f.state, nil
}

func (f *fakeCgroup) Pids() ([]int, error) { return f.pids, nil }

func (f *fakeCgroup) Signal(sig unix.Signal) error {
	f.calls = append(f.calls, "signal "+unix.SignalName(sig))
	return nil
}

func (f *fakeCgroup) Stats() (*cgroups.Stats, error) { return cgroups.NewStats(), nil }

func (f *fakeCgroup) Destroy() error {
	f.calls = append(f.calls, "destroy")
	return f.destroyErr
}

func (f *fakeCgroup) Paths() map[string]string { return f.paths }
func (f *fakeCgroup) Exists() bool             { return f.exists }

// useFakeCgroup makes f the manager of every --systemd-cgroup container
// (cgroups.New and Load) until the test ends. Such containers are the
// only ones the fake reaches: no host cgroup is looked at.
func useFakeCgroup(t *testing.T, f *fakeCgroup) {
	t.Helper()
	cgroups.Register(cgroups.DriverSystemd, func(cfg cgroups.Config, paths map[string]string) (cgroups.Manager, error) {
		f.cfg, f.loaded = cfg, paths
		return f, nil
	})
	t.Cleanup(func() { cgroups.Register(cgroups.DriverSystemd, systemd.NewManager) })
}

// sleeper starts a process that stands for a container's init, killed
// and reaped when the test ends.
func sleeper(t *testing.T) state.Resources {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	st, err := system.StartTime(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	return state.Resources{InitPid: cmd.Process.Pid, InitStartTime: st}
}

// fakeCgroupContainer stores (and loads, locked) a container whose init
// is a sleeper and whose cgroup is f.
func fakeCgroupContainer(t *testing.T, f *fakeCgroup, spec *specs.Spec, fifo bool) *Container {
	t.Helper()
	useFakeCgroup(t, f)
	res := sleeper(t)
	res.SystemdCgroup = true
	res.CgroupPaths = f.paths
	root := storeContainer(t, state.State{ID: "c", Resources: res}, spec, fifo)
	c, err := Load(root, "c")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestCgroupConfig(t *testing.T) {
	s := &specs.Spec{
		Annotations: map[string]string{"org.systemd.property.A": "1"},
		Linux: &specs.Linux{CgroupsPath: "/pod/ctr", Resources: &specs.LinuxResources{
			Pids: &specs.LinuxPids{Limit: ptr(int64(9))},
		}},
	}
	cfg := cgroupConfig("c1", s, RootlessOn)
	if cfg.ID != "c1" || cfg.Path != "/pod/ctr" || !cfg.Rootless || cfg.Annotations["org.systemd.property.A"] != "1" {
		t.Errorf("cgroupConfig = %+v", cfg)
	}
	if cfg.Resources == nil || cfg.Resources.Pids == nil || *cfg.Resources.Pids.Limit != 9 {
		t.Fatalf("resources = %+v, want the spec's pids limit", cfg.Resources)
	}
	// The default device rules complete the spec's, which stays as it was.
	if len(cfg.Resources.Devices) == 0 || s.Linux.Resources.Devices != nil {
		t.Errorf("devices: config %d rules, spec %v; want runc's defaults in the config only",
			len(cfg.Resources.Devices), s.Linux.Resources.Devices)
	}
	for _, s := range []*specs.Spec{nil, {}} {
		cfg := cgroupConfig("c2", s, RootlessOff)
		if cfg.ID != "c2" || cfg.Path != "" || cfg.Rootless || cfg.Resources != nil || cfg.Annotations != nil {
			t.Errorf("cgroupConfig of %+v = %+v, want only the id", s, cfg)
		}
	}
}

func TestPickPath(t *testing.T) {
	for _, tc := range []struct {
		paths map[string]string
		want  []string // any of
	}{
		{map[string]string{"": "/u", "memory": "/m", "pids": "/p"}, []string{""}},
		{map[string]string{"memory": "/m", "pids": "/p"}, []string{"memory"}},
		{map[string]string{"pids": "/p", "cpu": "/c"}, []string{"pids", "cpu"}},
		{nil, []string{""}},
	} {
		if got := pickPath(tc.paths); !slices.Contains(tc.want, got) {
			t.Errorf("pickPath(%v) = %q, want one of %q", tc.paths, got, tc.want)
		}
	}
}

// MergeResources copies what an update sets; a nil, zero or empty field
// (runc's update sends zeros for what it leaves alone) keeps the saved
// value, except where zero is a value of its own (burst, swappiness).
func TestMergeResources(t *testing.T) {
	dst := &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: ptr(int64(100)), Swap: ptr(int64(300)), Swappiness: ptr(uint64(60))},
		CPU:     &specs.LinuxCPU{Shares: ptr(uint64(1024)), Quota: ptr(int64(5000)), Burst: ptr(uint64(7)), Cpus: "0-1", Mems: "0"},
		Pids:    &specs.LinuxPids{Limit: ptr(int64(10))},
		BlockIO: &specs.LinuxBlockIO{Weight: ptr(uint16(100)), LeafWeight: ptr(uint16(10))},
		Unified: map[string]string{"memory.high": "1000", "pids.max": "10"},
	}
	wd := []specs.LinuxWeightDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8}}}
	td := []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8}, Rate: 1}}
	devs := []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}
	upd := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptr(int64(0)), Reservation: ptr(int64(50)), Swap: nil,
			Swappiness: ptr(uint64(0)), DisableOOMKiller: ptr(true)},
		CPU: &specs.LinuxCPU{Shares: ptr(uint64(0)), Quota: ptr(int64(8000)), Period: ptr(uint64(100000)),
			Burst: ptr(uint64(0)), Idle: ptr(int64(1)), Mems: "1"},
		Pids:           &specs.LinuxPids{Limit: ptr(int64(0))},
		BlockIO:        &specs.LinuxBlockIO{Weight: ptr(uint16(0)), LeafWeight: ptr(uint16(20)), WeightDevice: wd, ThrottleReadBpsDevice: td, ThrottleWriteIOPSDevice: td},
		HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 1}},
		Network:        &specs.LinuxNetwork{ClassID: ptr(uint32(3))},
		Rdma:           map[string]specs.LinuxRdma{"mlx": {}},
		Devices:        devs,
		Unified:        map[string]string{"memory.high": "2000"},
	}
	MergeResources(dst, upd)
	m, c, b := dst.Memory, dst.CPU, dst.BlockIO
	for _, ck := range []struct {
		what      string
		got, want any
	}{
		{"memory.limit (0: kept)", *m.Limit, int64(100)},
		{"memory.reservation", *m.Reservation, int64(50)},
		{"memory.swap (nil: kept)", *m.Swap, int64(300)},
		{"memory.swappiness (0 is a value)", *m.Swappiness, uint64(0)},
		{"memory.disableOOMKiller", *m.DisableOOMKiller, true},
		{"cpu.shares (0: kept)", *c.Shares, uint64(1024)},
		{"cpu.quota", *c.Quota, int64(8000)},
		{"cpu.period", *c.Period, uint64(100000)},
		{"cpu.burst (0 is a value)", *c.Burst, uint64(0)},
		{"cpu.idle", *c.Idle, int64(1)},
		{"cpu.cpus (empty: kept)", c.Cpus, "0-1"},
		{"cpu.mems", c.Mems, "1"},
		{"pids.limit (0: kept)", *dst.Pids.Limit, int64(10)},
		{"blockio.weight (0: kept)", *b.Weight, uint16(100)},
		{"blockio.leafWeight", *b.LeafWeight, uint16(20)},
		{"blockio.weightDevice", b.WeightDevice, wd},
		{"blockio.throttleReadBpsDevice", b.ThrottleReadBpsDevice, td},
		{"blockio.throttleWriteBpsDevice (empty: kept)", b.ThrottleWriteBpsDevice, []specs.LinuxThrottleDevice(nil)},
		{"blockio.throttleWriteIOPSDevice", b.ThrottleWriteIOPSDevice, td},
		{"hugepageLimits", dst.HugepageLimits, upd.HugepageLimits},
		{"network", dst.Network, upd.Network},
		{"rdma", dst.Rdma, upd.Rdma},
		{"devices", dst.Devices, devs},
		{"unified (merged key by key)", dst.Unified, map[string]string{"memory.high": "2000", "pids.max": "10"}},
	} {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %v, want %v", ck.what, ck.got, ck.want)
		}
	}

	// Into a config without those sections: they are made.
	empty := &specs.LinuxResources{}
	MergeResources(empty, &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: ptr(int64(1))},
		CPU:     &specs.LinuxCPU{Cpus: "3"},
		Pids:    &specs.LinuxPids{Limit: ptr(int64(-1))},
		BlockIO: &specs.LinuxBlockIO{Weight: ptr(uint16(5))},
		Unified: map[string]string{"a": "b"},
	})
	if *empty.Memory.Limit != 1 || empty.CPU.Cpus != "3" || *empty.Pids.Limit != -1 || *empty.BlockIO.Weight != 5 || empty.Unified["a"] != "b" {
		t.Errorf("merge into an empty config: %+v", empty)
	}
	// An update that sets nothing changes nothing.
	before := &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(4))}}
	MergeResources(before, &specs.LinuxResources{Pids: &specs.LinuxPids{}})
	if before.Memory != nil || before.CPU != nil || *before.Pids.Limit != 4 {
		t.Errorf("an empty update changed %+v", before)
	}
}

// Update sends the cgroup what runc's update would (a lone memory limit
// keeps the saved swap, a lone period the saved quota, device rules
// completed with the defaults) and saves the merged limits.
func TestUpdate(t *testing.T) {
	f := &fakeCgroup{paths: map[string]string{"": "/fake/c"}, exists: true}
	spec := &specs.Spec{Version: specs.Version, Linux: &specs.Linux{Resources: &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptr(int64(100)), Swap: ptr(int64(300))},
		CPU:    &specs.LinuxCPU{Quota: ptr(int64(50000)), Period: ptr(uint64(100000))},
	}}}
	c := fakeCgroupContainer(t, f, spec, false)
	devs := []specs.LinuxDeviceCgroup{{Allow: false, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(3)), Access: "rwm"}}
	err := c.Update(&specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: ptr(int64(200))},
		CPU:     &specs.LinuxCPU{Period: ptr(uint64(200000))},
		Devices: devs,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.loaded, f.paths) || !f.cfg.Systemd || f.cfg.ID != "c" {
		t.Errorf("manager loaded with %+v from %v", f.cfg, f.loaded)
	}
	if len(f.set) != 1 {
		t.Fatalf("Set called %d times", len(f.set))
	}
	r := f.set[0]
	if *r.Memory.Limit != 200 || r.Memory.Swap == nil || *r.Memory.Swap != 300 {
		t.Errorf("memory sent: %+v, want limit 200 with the saved swap 300", r.Memory)
	}
	if *r.CPU.Period != 200000 || r.CPU.Quota == nil || *r.CPU.Quota != 50000 {
		t.Errorf("cpu sent: %+v, want period 200000 with the saved quota 50000", r.CPU)
	}
	if len(r.Devices) <= len(devs) || !reflect.DeepEqual(r.Devices[:len(devs)], devs) {
		t.Errorf("devices sent: %v, want the rule given then the defaults", r.Devices)
	}
	saved, err := c.Config()
	if err != nil {
		t.Fatal(err)
	}
	sr := saved.Linux.Resources
	if *sr.Memory.Limit != 200 || *sr.Memory.Swap != 300 || *sr.CPU.Quota != 50000 || *sr.CPU.Period != 200000 {
		t.Errorf("saved: memory %+v cpu %+v", sr.Memory, sr.CPU)
	}
	if !reflect.DeepEqual(sr.Devices, devs) {
		t.Errorf("saved devices %v, want only those given (defaults are added at create)", sr.Devices)
	}

	// Without a saved swap, or with a quota given, nothing is filled in.
	f.set = nil
	if err := c.Update(&specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: ptr(int64(1000)), Period: ptr(uint64(10000))}}); err != nil {
		t.Fatal(err)
	}
	if r := f.set[0]; *r.CPU.Quota != 1000 || *r.CPU.Period != 10000 || r.Memory != nil || r.Devices != nil {
		t.Errorf("sent %+v, want the cpu given alone", r)
	}

	// A failed Set saves nothing.
	f.setErr = errors.New("EINVAL")
	if err := c.Update(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(3))}}); err == nil {
		t.Error("a failed Set is no error")
	}
	if saved, _ := c.Config(); saved.Linux.Resources.Pids != nil {
		t.Errorf("a failed update saved pids %+v", saved.Linux.Resources.Pids)
	}
	f.setErr = nil

	// Read-only (LoadState): the config cannot be saved.
	ro, err := LoadState(c.root, "c")
	if err != nil {
		t.Fatal(err)
	}
	if err := ro.Update(&specs.LinuxResources{}); err == nil || !strings.Contains(err.Error(), "needs the container locked") {
		t.Errorf("update of an unlocked container: %v", err)
	}
}

func TestUpdateStoppedOrWithoutCgroup(t *testing.T) {
	stopped := &Container{root: t.TempDir(), state: state.State{ID: "s"}}
	if err := stopped.Update(&specs.LinuxResources{}); err == nil || err.Error() != "container s is not running" {
		t.Errorf("update of a stopped container: %v", err)
	}
	root := storeContainer(t, state.State{ID: "n", Resources: sleeper(t)}, &specs.Spec{}, false)
	c, err := LoadState(root, "n")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Update(&specs.LinuxResources{}); !errors.Is(err, errNoCgroup) {
		t.Errorf("update without a cgroup: %v, want %v", err, errNoCgroup)
	}
}

func TestPauseResume(t *testing.T) {
	f := &fakeCgroup{paths: map[string]string{"": "/fake/c"}, exists: true}
	c := fakeCgroupContainer(t, f, &specs.Spec{}, true)
	if err := c.Resume(); err == nil || err.Error() != "container c is not paused: created" {
		t.Errorf("resume of a created container: %v", err)
	}
	if err := c.Pause(); err != nil {
		t.Fatal(err)
	}
	if st := c.Status(); st != Paused {
		t.Errorf("status after pause: %s", st)
	}
	if err := c.Pause(); err == nil || err.Error() != "container c is already paused" {
		t.Errorf("second pause: %v", err)
	}
	if err := c.Resume(); err != nil {
		t.Fatal(err)
	}
	if st := c.Status(); st != Created {
		t.Errorf("status after resume: %s", st)
	}
	if want := []string{"freeze", "thaw"}; !reflect.DeepEqual(f.calls, want) {
		t.Errorf("cgroup calls %v, want %v", f.calls, want)
	}

	stopped := &Container{root: t.TempDir(), state: state.State{ID: "s"}}
	if err := stopped.Pause(); err == nil || err.Error() != "container s is not running: stopped" {
		t.Errorf("pause of a stopped container: %v", err)
	}
}

func TestProcessesAndOOMEvents(t *testing.T) {
	none := &Container{state: state.State{ID: "n"}}
	if _, err := none.Processes(); !errors.Is(err, errNoCgroup) {
		t.Errorf("Processes without a cgroup: %v", err)
	}
	if _, err := none.OOMEvents(nil); !errors.Is(err, errNoCgroup) {
		t.Errorf("OOMEvents without a cgroup: %v", err)
	}
	f := &fakeCgroup{paths: map[string]string{"": "/fake/c"}, exists: true, pids: []int{7, 8}}
	c := fakeCgroupContainer(t, f, &specs.Spec{}, false)
	if pids, err := c.Processes(); err != nil || !reflect.DeepEqual(pids, []int{7, 8}) {
		t.Errorf("Processes = %v, %v", pids, err)
	}
	// A driver that cannot report OOM kills: no channel, no error.
	if ch, err := c.OOMEvents(nil); ch != nil || err != nil {
		t.Errorf("OOMEvents of a driver without them = %v, %v", ch, err)
	}
}

// Without its own pid namespace, SIGKILL goes to the whole cgroup, not to
// the init alone; kill --all goes to the cgroup whatever the signal.
func TestSignalThroughCgroup(t *testing.T) {
	f := &fakeCgroup{paths: map[string]string{"": "/fake/c"}, exists: true}
	c := fakeCgroupContainer(t, f, &specs.Spec{}, false)
	if err := c.Signal(unix.SIGKILL, false); err != nil {
		t.Fatal(err)
	}
	if err := c.Signal(unix.SIGTERM, true); err != nil {
		t.Fatal(err)
	}
	if want := []string{"signal SIGKILL", "signal SIGTERM"}; !reflect.DeepEqual(f.calls, want) {
		t.Errorf("cgroup calls %v, want %v", f.calls, want)
	}
	if !c.initAlive() {
		t.Error("the init was signalled itself")
	}
}

// SIGKILL to a paused container thaws it, or its init would not die.
func TestSignalKillThawsPaused(t *testing.T) {
	f := &fakeCgroup{paths: map[string]string{"": "/fake/c"}, exists: true, state: cgroups.Frozen}
	spec := &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}}}}
	c := fakeCgroupContainer(t, f, spec, false)
	if st := c.Status(); st != Paused {
		t.Fatalf("status %s, want paused", st)
	}
	if err := c.Signal(unix.SIGKILL, false); err != nil {
		t.Fatal(err)
	}
	if want := []string{"thaw"}; !reflect.DeepEqual(f.calls, want) {
		t.Errorf("cgroup calls %v, want %v", f.calls, want)
	}
	waitGone(t, c)
}

func waitGone(t *testing.T, c *Container) {
	t.Helper()
	fd, err := system.PidFD(c.state.InitPid, c.state.InitStartTime)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	if err := system.WaitPidFD(fd); err != nil {
		t.Fatal(err)
	}
}

// delete --force of a running container kills it through its cgroup,
// destroys the cgroup and the parents create made, then the state.
func TestDeleteForceWithCgroup(t *testing.T) {
	top := filepath.Join(t.TempDir(), "pod")
	if err := os.Mkdir(top, 0o755); err != nil {
		t.Fatal(err)
	}
	f := &fakeCgroup{paths: map[string]string{"": filepath.Join(top, "c")}, exists: true}
	c := fakeCgroupContainer(t, f, &specs.Spec{}, false)
	c.state.CgroupParents = map[string]string{"": top}
	if err := c.Delete(true); err != nil {
		t.Fatal(err)
	}
	if want := []string{"signal SIGKILL", "destroy"}; !reflect.DeepEqual(f.calls, want) {
		t.Errorf("cgroup calls %v, want %v", f.calls, want)
	}
	if c.initAlive() {
		t.Error("the init survived delete --force")
	}
	if _, err := os.Stat(top); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the parent create made is left: %v", err)
	}
	if _, err := os.Stat(c.stateDirPath()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state dir left: %v", err)
	}
}

func TestDeleteKeepsStateWhenCgroupStays(t *testing.T) {
	f := &fakeCgroup{paths: map[string]string{"": "/fake/c"}, destroyErr: errors.New("EBUSY")}
	c := fakeCgroupContainer(t, f, &specs.Spec{}, false)
	c.state.Resources.InitPid = 0 // stopped
	err := c.Delete(false)
	if err == nil || !strings.Contains(err.Error(), "remove cgroup: EBUSY") || !strings.Contains(err.Error(), "its state is kept") {
		t.Fatalf("Delete = %v", err)
	}
	if _, err := os.Stat(c.stateDirPath()); err != nil {
		t.Errorf("state went with the cgroup left: %v", err)
	}
}

func TestPrepareCgroup(t *testing.T) {
	paths := map[string]string{"": "/fake/u", "memory": "/fake/m"}
	spec := &specs.Spec{Linux: &specs.Linux{CgroupsPath: "s.slice:p:c"}}
	newLauncher := func() *launcher {
		return &launcher{c: &Container{state: state.State{ID: "c", Resources: state.Resources{SystemdCgroup: true}}},
			spec: spec, opts: &CreateOpts{Rootless: RootlessOff}}
	}
	for _, tc := range []struct {
		name string
		f    fakeCgroup
		err  string
	}{
		{"busy", fakeCgroup{exists: true, pids: []int{42}}, "container's cgroup is not empty: 1 process(es) in /fake/u"},
		{"frozen", fakeCgroup{exists: true, state: cgroups.Frozen}, "container's cgroup unexpectedly frozen: /fake/u (thaw or remove it first)"},
		// Someone else's processes are not seen when the cgroup does not exist.
		{"new", fakeCgroup{pids: []int{42}, state: cgroups.Frozen}, ""},
		{"existing and empty", fakeCgroup{exists: true}, ""},
	} {
		f := tc.f
		f.paths = paths
		useFakeCgroup(t, &f)
		l := newLauncher()
		err := l.prepareCgroup()
		if (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.err)
			continue
		}
		if err != nil {
			if l.c.state.CgroupPaths != nil || l.cgroupMgr != nil {
				t.Errorf("%s: refused cgroup recorded: %v", tc.name, l.c.state.CgroupPaths)
			}
			continue
		}
		if f.cfg.Path != "s.slice:p:c" || !f.cfg.Systemd || !f.cfg.LateLimits || f.loaded != nil {
			t.Errorf("%s: driver got %+v (paths %v)", tc.name, f.cfg, f.loaded)
		}
		// systemd makes the slices itself: no parents of ours.
		if !reflect.DeepEqual(l.c.state.CgroupPaths, paths) || l.cgroupParents != nil || l.c.state.CgroupParents != nil {
			t.Errorf("%s: recorded %v, parents %v", tc.name, l.c.state.CgroupPaths, l.c.state.CgroupParents)
		}
		if r := l.records(); !reflect.DeepEqual(r.CgroupPaths, paths) || r.ID != "c" {
			t.Errorf("%s: records %+v", tc.name, r)
		}
		if len(f.calls) != 0 {
			t.Errorf("%s: prepare did %v, want nothing made", tc.name, f.calls)
		}
	}
}

func TestApplyCgroup(t *testing.T) {
	paths := map[string]string{"": "/fake/c"}
	res := &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(1))}}
	skipped := fmt.Errorf("%w: pids", cgroups.ErrRootless)
	for _, tc := range []struct {
		name      string
		cfg       cgroups.Config
		f         fakeCgroup
		err       string
		wantPaths map[string]string
		setNow    bool // the limits are set by applyCgroup, not later
	}{
		{"limits at once", cgroups.Config{}, fakeCgroup{exists: true}, "", paths, true},
		{"late limits", cgroups.Config{LateLimits: true}, fakeCgroup{exists: true}, "", paths, false},
		{"rootless, nothing delegated", cgroups.Config{Rootless: true, LateLimits: true}, fakeCgroup{applyErr: skipped}, "", nil, true},
		{"rootless, delegated", cgroups.Config{Rootless: true, LateLimits: true}, fakeCgroup{exists: true}, "", paths, false},
		{"apply fails", cgroups.Config{}, fakeCgroup{applyErr: errors.New("EACCES")}, "unable to apply cgroup configuration: EACCES", nil, false},
		{"set fails", cgroups.Config{}, fakeCgroup{exists: true, setErr: errors.New("EINVAL")}, "set cgroup limits: EINVAL", nil, false},
	} {
		f := tc.f
		f.paths = paths
		tc.cfg.Resources = res
		l := &launcher{c: &Container{state: state.State{ID: "c"}}, cgroupMgr: &f, cgroupCfg: tc.cfg}
		l.c.state.CgroupPaths, l.c.state.CgroupParents = map[string]string{"": "/intent"}, map[string]string{"": "/p"}
		err := l.applyCgroup(123)
		if (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.err)
			continue
		}
		if f.calls[0] != "apply 123" {
			t.Errorf("%s: calls %v", tc.name, f.calls)
		}
		if err != nil {
			continue
		}
		if !reflect.DeepEqual(l.c.state.CgroupPaths, tc.wantPaths) || (tc.wantPaths == nil) != (l.c.state.CgroupParents == nil) {
			t.Errorf("%s: state paths %v parents %v, want %v", tc.name, l.c.state.CgroupPaths, l.c.state.CgroupParents, tc.wantPaths)
		}
		if got := len(f.set) == 1; got != tc.setNow || l.limitsSet != tc.setNow {
			t.Errorf("%s: limits set at apply: %v (limitsSet %v), want %v", tc.name, got, l.limitsSet, tc.setNow)
		}
		// Once ready, the limits left for later are set, once.
		if err := l.setLateLimits(); err != nil {
			t.Errorf("%s: setLateLimits: %v", tc.name, err)
		}
		if len(f.set) != 1 || !reflect.DeepEqual(f.set[0], res) {
			t.Errorf("%s: limits set %d times, want once with the config's", tc.name, len(f.set))
		}
	}

	// setLateLimits without a cgroup, and with a failing Set.
	if err := (&launcher{}).setLateLimits(); err != nil {
		t.Errorf("setLateLimits without a cgroup: %v", err)
	}
	l := &launcher{cgroup: &fakeCgroup{setErr: errors.New("EINVAL")}}
	if err := l.setLateLimits(); err == nil || err.Error() != "set cgroup limits: EINVAL" {
		t.Errorf("setLateLimits with a failing Set: %v", err)
	}
}

// cgroupDirs makes directories standing for cgroups, each with a
// cgroup.procs file, under a temp dir.
func cgroupDirs(t *testing.T, rel ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, r := range rel {
		d := filepath.Join(root, r)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func readProcs(t *testing.T, dir string) string {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	return string(b)
}

// The init leaves the container's cgroup for its set-up only with a
// driver whose cgroup outlives that (not a systemd scope: the fake), and
// joinCgroupLate puts it back only if it left.
func TestSetupOutsideAndJoinCgroupLate(t *testing.T) {
	root := cgroupDirs(t, "u")
	paths := map[string]string{"": filepath.Join(root, "u")}
	l := &launcher{c: &Container{state: state.State{ID: "c", Resources: state.Resources{InitPid: 77, CgroupPaths: paths}}}}
	l.setupOutsideCgroup(77)
	if l.outside {
		t.Error("left a cgroup there is no manager of")
	}
	l.cgroup = &fakeCgroup{paths: paths}
	l.setupOutsideCgroup(77)
	if l.outside {
		t.Error("left a cgroup whose driver is not Persistent")
	}
	if err := l.joinCgroupLate(); err != nil || readProcs(t, paths[""]) != "" {
		t.Errorf("joinCgroupLate of an init that did not leave: %v, wrote %q", err, readProcs(t, paths[""]))
	}
	l.outside = true
	if err := l.joinCgroupLate(); err != nil {
		t.Fatal(err)
	}
	if got := readProcs(t, paths[""]); got != "77" || l.outside {
		t.Errorf("joinCgroupLate wrote %q (outside %v), want 77", got, l.outside)
	}
	l.outside = true
	l.c.state.CgroupPaths = map[string]string{"": filepath.Join(root, "gone")}
	if err := l.joinCgroupLate(); err == nil || !strings.HasPrefix(err.Error(), "cgroup: ") || !l.outside {
		t.Errorf("joinCgroupLate into a missing cgroup: %v", err)
	}
}

// exec's process joins the container's cgroups, or the sub-cgroups
// --cgroup names; on a hybrid host the cgroup2 placement falls back to the
// container's own.
func TestJoinCgroup(t *testing.T) {
	root := cgroupDirs(t, "mem", "mem/sub", "pids", "u")
	mem, pids, u := filepath.Join(root, "mem"), filepath.Join(root, "pids"), filepath.Join(root, "u")
	reset := func() {
		for _, d := range []string{mem, filepath.Join(mem, "sub"), pids, u} {
			os.WriteFile(filepath.Join(d, "cgroup.procs"), nil, 0o644)
		}
	}
	for _, tc := range []struct {
		name  string
		paths map[string]string
		sub   map[string]string
		err   string
		want  map[string]string // dir → cgroup.procs after
	}{
		{"v1", map[string]string{"memory": mem, "pids": pids}, nil, "",
			map[string]string{mem: "9", pids: "9"}},
		{"v1 sub of one controller", map[string]string{"memory": mem, "pids": pids}, map[string]string{"memory": "sub"}, "",
			map[string]string{filepath.Join(mem, "sub"): "9", mem: "", pids: "9"}},
		{"sub cannot climb", map[string]string{"memory": mem}, map[string]string{"memory": "../../sub"}, "",
			map[string]string{filepath.Join(mem, "sub"): "9"}},
		{"unknown controller", map[string]string{"memory": mem}, map[string]string{"cpu": "x"},
			`--cgroup: unknown controller "cpu": the container has no cpu cgroup`, map[string]string{mem: ""}},
		{"missing sub", map[string]string{"pids": pids}, map[string]string{"": "sub"},
			"join cgroup: adding pid 9 to cgroups (" + filepath.Join(pids, "sub") + "): no such file or directory", nil},
		{"hybrid: cgroup2 falls back", map[string]string{"memory": mem, "": u}, map[string]string{"": "sub"}, "",
			map[string]string{filepath.Join(mem, "sub"): "9", u: "9"}},
		{"hybrid: cgroup2 is a courtesy", map[string]string{"memory": mem, "": filepath.Join(root, "none")}, nil, "",
			map[string]string{mem: "9"}},
		{"v2 without the init's cgroup", map[string]string{"": filepath.Join(root, "none")}, nil,
			"join cgroup: adding pid 9 to cgroups (" + filepath.Join(root, "none") + "): no such file or directory", nil},
	} {
		reset()
		c := &Container{state: state.State{ID: "c", Resources: state.Resources{CgroupPaths: tc.paths}}}
		err := c.joinCgroup(9, tc.sub)
		if (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.err)
		}
		for dir, want := range tc.want {
			if got := readProcs(t, dir); got != want {
				t.Errorf("%s: %s/cgroup.procs = %q, want %q", tc.name, dir, got, want)
			}
		}
	}
}
