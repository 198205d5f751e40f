package fs1

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/teu-runtime/teu/libcontainer/cgroups"
)

// fakeTree makes a fake cgroupfs: root/<controller>/<leaf> with the given
// control files (empty unless listed in vals), as the kernel would show
// them, and records every write in order.
type fakeTree struct {
	root   string
	writes []string
	opens  []string // files written through writeEach, one entry an open
}

func newFake(t *testing.T, files map[string]string) *fakeTree {
	t.Helper()
	f := &fakeTree{root: t.TempDir()}
	for p, v := range files {
		full := filepath.Join(f.root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := writeFile
	writeFile = func(dir, file, data string) error {
		rel, _ := filepath.Rel(f.root, filepath.Join(dir, file))
		f.writes = append(f.writes, rel+"="+data)
		return old(dir, file, data)
	}
	oldEach := writeEach
	writeEach = func(dir, file string, values ...string) error {
		rel, _ := filepath.Rel(f.root, filepath.Join(dir, file))
		f.opens = append(f.opens, rel)
		for _, v := range values {
			f.writes = append(f.writes, rel+"="+v)
		}
		return oldEach(dir, file, values...)
	}
	t.Cleanup(func() { writeFile, writeEach = old, oldEach })
	return f
}

func (f *fakeTree) read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.root, p))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func (f *fakeTree) manager(ctrls ...string) *Manager {
	p := map[string]string{}
	for _, c := range ctrls {
		p[c] = filepath.Join(f.root, c, "ctr")
	}
	return NewWithPaths(cgroups.Config{ID: "ctr"}, p)
}

func i64(v int64) *int64    { return &v }
func u64p(v uint64) *uint64 { return &v }

func TestResolvePaths(t *testing.T) {
	hs := []cgroups.Hierarchy{
		{Mountpoint: "/cg/cpu,cpuacct", Root: "/", Controllers: []string{"cpu", "cpuacct"}},
		{Mountpoint: "/cg/memory", Root: "/", Controllers: []string{"memory"}},
		{Mountpoint: "/cg/systemd", Root: "/", Controllers: []string{"name=systemd"}},
		{Mountpoint: "/cg/other", Root: "/", Controllers: []string{"name=other"}},
		{Mountpoint: "/cg/unified", Root: "/", Unified: true},
	}
	own := map[string]string{"cpu": "/", "cpuacct": "/", "memory": "/sup/x", "name=systemd": "/", "": "/"}
	p, err := ResolvePaths(&cgroups.Config{ID: "c1"}, hs, own)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"cpu": "/cg/cpu,cpuacct/c1", "cpuacct": "/cg/cpu,cpuacct/c1", "memory": "/cg/memory/sup/x/c1",
		"name=systemd": "/cg/systemd/c1", "": "/cg/unified/c1",
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got %v\nwant %v", p, want)
	}
	p, _ = ResolvePaths(&cgroups.Config{ID: "c1", Path: "/abs"}, hs, own)
	if p["memory"] != "/cg/memory/abs" {
		t.Errorf("absolute: %v", p["memory"])
	}
	p, _ = ResolvePaths(&cgroups.Config{ID: "c1", Path: "rel/x"}, hs, own)
	if p["memory"] != "/cg/memory/sup/x/rel/x" || p["cpu"] != "/cg/cpu,cpuacct/rel/x" {
		t.Errorf("relative: %v", p)
	}
}

func TestApplyCopiesCpusetFromParent(t *testing.T) {
	f := newFake(t, map[string]string{
		"cpuset/cpuset.cpus": "0-3\n", "cpuset/cpuset.mems": "0\n",
		// the kernel would create these with the directory
		"cpuset/a/cpuset.cpus": "", "cpuset/a/cpuset.mems": "", "cpuset/a/cgroup.procs": "",
		"cpuset/a/ctr/cpuset.cpus": "", "cpuset/a/ctr/cpuset.mems": "", "cpuset/a/ctr/cgroup.procs": "",
		"pids/a/ctr/cgroup.procs": "",
	})
	m := NewWithPaths(cgroups.Config{ID: "ctr", Resources: &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "1"}}},
		map[string]string{"cpuset": filepath.Join(f.root, "cpuset/a/ctr"), "pids": filepath.Join(f.root, "pids/a/ctr")})
	if err := m.Apply(42); err != nil {
		t.Fatal(err)
	}
	if got := f.read(t, "cpuset/a/cpuset.cpus"); got != "0-3" {
		t.Errorf("parent cpus %q", got)
	}
	if got := f.read(t, "cpuset/a/ctr/cpuset.mems"); got != "0" {
		t.Errorf("leaf mems %q", got)
	}
	if got := f.read(t, "cpuset/a/ctr/cpuset.cpus"); got != "1" {
		t.Errorf("leaf cpus %q, want the spec's", got)
	}
	if got := f.read(t, "pids/a/ctr/cgroup.procs"); got != "42" {
		t.Errorf("procs %q", got)
	}
	// cpus were copied before the pid was written
	iCpus, iProcs := -1, -1
	for i, w := range f.writes {
		if strings.HasPrefix(w, "cpuset/a/ctr/cpuset.cpus=") && iCpus < 0 {
			iCpus = i
		}
		if strings.HasPrefix(w, "cpuset/a/ctr/cgroup.procs=") {
			iProcs = i
		}
	}
	if iCpus < 0 || iProcs < iCpus {
		t.Errorf("write order: %v", f.writes)
	}
}

func TestSetMemorySwapOrder(t *testing.T) {
	files := map[string]string{
		"memory/ctr/memory.limit_in_bytes": "33554432", "memory/ctr/memory.memsw.limit_in_bytes": "67108864",
		"memory/ctr/memory.soft_limit_in_bytes": "", "memory/ctr/memory.swappiness": "60", "memory/ctr/memory.oom_control": "",
	}
	// Raising both: memsw first.
	f := newFake(t, files)
	m := f.manager("memory")
	err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(268435456), Swap: i64(536870912)}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"memory/ctr/memory.memsw.limit_in_bytes=536870912", "memory/ctr/memory.limit_in_bytes=268435456"}
	if !reflect.DeepEqual(f.writes, want) {
		t.Errorf("raise: %v", f.writes)
	}
	// Lowering: memory first.
	f = newFake(t, files)
	m = f.manager("memory")
	sw := uint64(10)
	dis := true
	if err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(16777216), Swap: i64(16777216),
		Reservation: i64(8388608), Swappiness: &sw, DisableOOMKiller: &dis}}); err != nil {
		t.Fatal(err)
	}
	want = []string{"memory/ctr/memory.limit_in_bytes=16777216", "memory/ctr/memory.memsw.limit_in_bytes=16777216",
		"memory/ctr/memory.soft_limit_in_bytes=8388608", "memory/ctr/memory.oom_control=1", "memory/ctr/memory.swappiness=10"}
	if !reflect.DeepEqual(f.writes, want) {
		t.Errorf("lower: %v", f.writes)
	}
	// Swappiness out of range.
	sw = 101
	if err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: &sw}}); err == nil {
		t.Error("swappiness 101 accepted")
	}
}

func TestSetCPU(t *testing.T) {
	f := newFake(t, map[string]string{
		"cpu/ctr/cpu.shares": "", "cpu/ctr/cpu.cfs_period_us": "", "cpu/ctr/cpu.cfs_quota_us": "",
		"cpu/ctr/cpu.rt_period_us": "", "cpu/ctr/cpu.rt_runtime_us": "",
	})
	m := f.manager("cpu")
	idle := int64(1)
	err := m.Set(&specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64p(512), Quota: i64(50000), Period: u64p(100000),
		RealtimePeriod: u64p(1000000), RealtimeRuntime: i64(1000), Idle: &idle, Burst: u64p(10)}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"cpu/ctr/cpu.rt_period_us=1000000", "cpu/ctr/cpu.rt_runtime_us=1000", "cpu/ctr/cpu.shares=512",
		"cpu/ctr/cpu.cfs_period_us=100000", "cpu/ctr/cpu.cfs_quota_us=50000"}
	if !reflect.DeepEqual(f.writes, want) {
		t.Errorf("writes %v (burst and idle are skipped: no such files)", f.writes)
	}
}

func TestSetDevicesDenyAllFirst(t *testing.T) {
	f := newFake(t, map[string]string{"devices/ctr/devices.allow": "", "devices/ctr/devices.deny": ""})
	m := f.manager("devices")
	one, three := int64(1), int64(3)
	err := m.Set(&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: &one, Minor: &three, Access: "rwm"},
		{Allow: true, Type: "b", Access: "m"},
		{Allow: false, Type: "c", Major: &one, Minor: &three, Access: "w"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"devices/ctr/devices.deny=a", "devices/ctr/devices.deny=a", "devices/ctr/devices.allow=c 1:3 rwm",
		"devices/ctr/devices.allow=b *:* m", "devices/ctr/devices.deny=c 1:3 w"}
	if !reflect.DeepEqual(f.writes, want) {
		t.Errorf("writes %v", f.writes)
	}
	// A run of rules for one file is written through one open of it.
	wantOpens := []string{"devices/ctr/devices.deny", "devices/ctr/devices.allow", "devices/ctr/devices.deny"}
	if !reflect.DeepEqual(f.opens, wantOpens) {
		t.Errorf("opens %v, want %v", f.opens, wantOpens)
	}
	// Through one fd a plain file (not cgroupfs) holds both writes; two
	// opens with O_TRUNC would leave the last alone.
	if got := f.read(t, "devices/ctr/devices.allow"); got != "c 1:3 rwmb *:* m" {
		t.Errorf("devices.allow holds %q", got)
	}
	// On update (no rules) nothing is written.
	f.writes = nil
	if err := m.Set(&specs.LinuxResources{}); err != nil || len(f.writes) != 0 {
		t.Errorf("update wrote %v, %v", f.writes, err)
	}
	if err := m.Set(&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Type: "x"}}}); err == nil {
		t.Error("bad type accepted")
	}
}

func TestSetPidsBlkioHugetlb(t *testing.T) {
	f := newFake(t, map[string]string{
		"pids/ctr/pids.max": "", "blkio/ctr/blkio.bfq.weight": "", "blkio/ctr/blkio.bfq.weight_device": "",
		"blkio/ctr/blkio.throttle.read_bps_device": "", "blkio/ctr/blkio.throttle.write_iops_device": "",
		"hugetlb/ctr/hugetlb.2MB.limit_in_bytes": "", "hugetlb/ctr/hugetlb.2MB.rsvd.limit_in_bytes": "",
	})
	m := f.manager("pids", "blkio", "hugetlb")
	w := uint16(300)
	dev := specs.LinuxBlockIODevice{Major: 8, Minor: 0}
	err := m.Set(&specs.LinuxResources{
		Pids: &specs.LinuxPids{Limit: i64(10)},
		BlockIO: &specs.LinuxBlockIO{Weight: &w, WeightDevice: []specs.LinuxWeightDevice{{LinuxBlockIODevice: dev, Weight: &w}},
			ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev, Rate: 1024}},
			ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev, Rate: 7}}},
		HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4194304}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for p, v := range map[string]string{
		"pids/ctr/pids.max": "10", "blkio/ctr/blkio.bfq.weight": "300", "blkio/ctr/blkio.bfq.weight_device": "8:0 300",
		"blkio/ctr/blkio.throttle.read_bps_device": "8:0 1024", "blkio/ctr/blkio.throttle.write_iops_device": "8:0 7",
		"hugetlb/ctr/hugetlb.2MB.limit_in_bytes": "4194304", "hugetlb/ctr/hugetlb.2MB.rsvd.limit_in_bytes": "4194304",
	} {
		if got := f.read(t, p); got != v {
			t.Errorf("%s = %q, want %q", p, got, v)
		}
	}
	if err := m.Set(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(-1)}}); err != nil || f.read(t, "pids/ctr/pids.max") != "max" {
		t.Errorf("unlimited pids: %v", err)
	}
}

func TestSetUnmountedController(t *testing.T) {
	f := newFake(t, map[string]string{"pids/ctr/pids.max": ""})
	m := f.manager("pids")
	id := uint32(5)
	err := m.Set(&specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: &id}})
	if err == nil || !strings.Contains(err.Error(), "cannot set net_cls limit") {
		t.Errorf("err = %v", err)
	}
	err = m.Set(&specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 1}}})
	if err == nil || !strings.Contains(err.Error(), "cannot set hugetlb limit") {
		t.Errorf("err = %v", err)
	}
	if err := m.Set(&specs.LinuxResources{Unified: map[string]string{"memory.max": "1"}}); err == nil {
		t.Error("unified accepted on v1")
	}
	// Nothing asked of a missing controller: fine.
	if err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{}}); err != nil {
		t.Error(err)
	}
}

func TestFreezeThawState(t *testing.T) {
	f := newFake(t, map[string]string{"freezer/ctr/freezer.state": "THAWED"})
	m := f.manager("freezer")
	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	if st, _ := m.FreezerState(); st != cgroups.Frozen {
		t.Errorf("state %s", st)
	}
	if err := m.Thaw(); err != nil {
		t.Fatal(err)
	}
	if st, _ := m.FreezerState(); st != cgroups.Thawed {
		t.Errorf("state %s", st)
	}
	if err := f.manager("pids").Freeze(); err == nil {
		t.Error("froze without a freezer")
	}
}

func TestPidsRecursive(t *testing.T) {
	f := newFake(t, map[string]string{
		"pids/ctr/cgroup.procs": "10\n11\n", "pids/ctr/sub/cgroup.procs": "12\n", "pids/ctr/sub/deeper/cgroup.procs": "13\n11\n",
	})
	pids, err := f.manager("pids").Pids()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(pids, []int{10, 11, 12, 13}) {
		t.Errorf("pids %v", pids)
	}
}

func TestStats(t *testing.T) {
	f := newFake(t, map[string]string{
		"memory/ctr/memory.stat":                              "cache 4096\nrss 8192\n",
		"memory/ctr/memory.usage_in_bytes":                    "12288",
		"memory/ctr/memory.max_usage_in_bytes":                "20000",
		"memory/ctr/memory.failcnt":                           "2",
		"memory/ctr/memory.limit_in_bytes":                    "9223372036854771712",
		"pids/ctr/pids.current":                               "3",
		"pids/ctr/pids.max":                                   "max",
		"cpuacct/ctr/cpuacct.usage":                           "5000",
		"cpuacct/ctr/cpuacct.usage_percpu":                    "2000 3000 \n",
		"cpuacct/ctr/cpuacct.stat":                            "user 2\nsystem 1\n",
		"cpu/ctr/cpu.stat":                                    "nr_periods 5\nnr_throttled 2\nthrottled_time 100\n",
		"blkio/ctr/blkio.throttle.io_service_bytes_recursive": "8:0 Read 4096\n8:0 Write 0\nTotal 4096\n",
		"blkio/ctr/blkio.throttle.io_serviced_recursive":      "8:0 Read 1\n",
		"cpuset/ctr/cpuset.cpus":                              "0-1,3\n",
		"cpuset/ctr/cpuset.mems":                              "0\n",
	})
	s, err := f.manager("memory", "pids", "cpuacct", "cpu", "blkio", "cpuset").Stats()
	if err != nil {
		t.Fatal(err)
	}
	if s.Memory.Cache != 4096 || s.Memory.Raw["rss"] != 8192 || s.Memory.Usage.Usage != 12288 || s.Memory.Usage.Failcnt != 2 {
		t.Errorf("memory %+v", s.Memory)
	}
	if s.Pids.Current != 3 || s.Pids.Limit != 0 {
		t.Errorf("pids %+v", s.Pids)
	}
	if s.CPU.Usage.Total != 5000 || !reflect.DeepEqual(s.CPU.Usage.Percpu, []uint64{2000, 3000}) ||
		s.CPU.Usage.User != 2e7 || s.CPU.Usage.Kernel != 1e7 || s.CPU.Throttling.ThrottledPeriods != 2 {
		t.Errorf("cpu %+v", s.CPU)
	}
	if len(s.Blkio.IoServiceBytesRecursive) != 2 || s.Blkio.IoServiceBytesRecursive[0] != (cgroups.BlkioEntry{Major: 8, Op: "Read", Value: 4096}) {
		t.Errorf("blkio %+v", s.Blkio)
	}
	if !reflect.DeepEqual(s.CPUSet.CPUs, []uint16{0, 1, 3}) {
		t.Errorf("cpuset %+v", s.CPUSet)
	}
}

func TestRemovePathLeafFirst(t *testing.T) {
	root := t.TempDir()
	leaf := filepath.Join(root, "ctr")
	os.MkdirAll(filepath.Join(leaf, "a", "b"), 0o755)
	os.MkdirAll(filepath.Join(leaf, "c"), 0o755)
	if err := cgroups.RemovePath(leaf); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(leaf); !os.IsNotExist(err) {
		t.Error("still there")
	}
	if err := cgroups.RemovePath(leaf); err != nil {
		t.Errorf("second remove: %v", err)
	}
}
