package fs2

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/teu-runtime/teu/libcontainer/cgroups"
)

// fakeTree lays out what the kernel would show for cgroups root, /a and
// /a/b: each with controllers and an empty subtree_control, the leaf with
// the interface files Set writes. Regular files stand in for cgroupfs.
func fakeTree(t *testing.T, leafFiles ...string) (root string) {
	t.Helper()
	root = t.TempDir()
	for _, d := range []string{"", "a", "a/b"} {
		dir := filepath.Join(root, d)
		must(t, os.MkdirAll(dir, 0o755))
		put(t, dir, "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma\n")
		put(t, dir, "cgroup.subtree_control", "")
		put(t, dir, "cgroup.procs", "")
	}
	for _, f := range leafFiles {
		put(t, filepath.Join(root, "a/b"), f, "")
	}
	return root
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func put(t *testing.T, dir, name, content string) {
	t.Helper()
	must(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
}

// overwrite replaces a file's content in one write, without truncating
// first: a reader woken meanwhile sees the old or the new content, never an
// empty file (cgroupfs files change atomically). Same-length content only.
func overwrite(t *testing.T, dir, name, content string) {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteAt([]byte(content), 0)
		f.Close()
	}
	if err != nil {
		t.Error(err)
	}
}

func get(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	must(t, err)
	return string(b)
}

func u64(v uint64) *uint64 { return &v }
func u16(v uint16) *uint16 { return &v }
func u32(v uint32) *uint32 { return &v }
func yes() *bool           { b := true; return &b }

func TestNewManager(t *testing.T) {
	m, err := NewManager("/sys/fs/cgroup", "teu/../x/c1", nil)
	must(t, err)
	if m.Path() != "/sys/fs/cgroup/x/c1" || !reflect.DeepEqual(m.Paths(), map[string]string{"": "/sys/fs/cgroup/x/c1"}) {
		t.Errorf("paths: %v", m.Paths())
	}
	for _, bad := range [][2]string{{"rel", "/x"}, {"/sys/fs/cgroup", "/"}, {"/sys/fs/cgroup", "../.."}} {
		if _, err := NewManager(bad[0], bad[1], nil); err == nil {
			t.Errorf("NewManager(%q, %q): no error", bad[0], bad[1])
		}
	}
}

func TestApply(t *testing.T) {
	root := fakeTree(t)
	m, err := NewManager(root, "/a/b", &cgroups.Config{})
	must(t, err)
	must(t, m.Apply(1234))
	if got := get(t, root+"/a/b", "cgroup.procs"); got != "1234" {
		t.Errorf("cgroup.procs = %q", got)
	}
	want := "+cpuset +cpu +io +memory +hugetlb +pids +rdma"
	for _, d := range []string{root, root + "/a"} {
		if got := get(t, d, "cgroup.subtree_control"); got != want {
			t.Errorf("%s subtree_control = %q, want %q", d, got, want)
		}
	}
	// The leaf's own subtree_control is left alone: it holds processes.
	if got := get(t, root+"/a/b", "cgroup.subtree_control"); got != "" {
		t.Errorf("leaf subtree_control = %q", got)
	}
	if !m.Exists() {
		t.Error("Exists() = false")
	}

	// A new directory on a fake tree has no cgroup files: it is not taken
	// for a cgroup.
	m2, _ := NewManager(root, "/a/new", nil)
	if err := m2.Apply(1); err == nil || !strings.Contains(err.Error(), "is not a cgroup") {
		t.Errorf("Apply on a plain dir: %v", err)
	}
}

func TestSet(t *testing.T) {
	root := fakeTree(t, "pids.max", "memory.max", "memory.swap.max", "memory.low", "memory.current",
		"cpu.weight", "cpu.max", "cpu.max.burst", "cpu.idle", "cpuset.cpus", "cpuset.mems",
		"io.weight", "io.max", "hugetlb.2MB.max", "hugetlb.2MB.rsvd.max", "rdma.max", "memory.oom.group", "memory.high")
	leaf := root + "/a/b"
	m, _ := NewManager(root, "/a/b", nil)
	put(t, leaf, "memory.current", "1000\n")
	r := &specs.LinuxResources{
		Pids:   &specs.LinuxPids{Limit: i64(42)},
		Memory: &specs.LinuxMemory{Limit: i64(64 << 20), Swap: i64(96 << 20), Reservation: i64(32 << 20), CheckBeforeUpdate: yes()},
		CPU: &specs.LinuxCPU{Shares: u64(1024), Quota: i64(50000), Period: u64(100000), Burst: u64(1000),
			Cpus: "0-1", Mems: "0"},
		BlockIO: &specs.LinuxBlockIO{Weight: u16(500), ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{
			{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 1 << 20}}},
		HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}},
		Rdma:           map[string]specs.LinuxRdma{"mlx5_0": {HcaHandles: u32(3), HcaObjects: u32(100)}},
		Unified:        map[string]string{"memory.oom.group": "1", "memory.high": "50000000"},
	}
	must(t, m.Set(r))
	for f, want := range map[string]string{
		"pids.max": "42", "memory.max": "67108864", "memory.swap.max": "33554432", "memory.low": "33554432",
		"cpu.weight": "100", "cpu.max": "50000 100000", "cpu.max.burst": "1000", "cpuset.cpus": "0-1",
		"cpuset.mems": "0", "io.weight": "4950", "io.max": "8:0 rbps=1048576", "hugetlb.2MB.max": "4194304",
		"hugetlb.2MB.rsvd.max": "4194304", "rdma.max": "mlx5_0 hca_handle=3 hca_object=100",
		"memory.oom.group": "1", "memory.high": "50000000", "cpu.idle": "",
	} {
		if got := get(t, leaf, f); got != want {
			t.Errorf("%s = %q, want %q", f, got, want)
		}
	}

	// Update: only the period; the quota stays. -1 limits become "max".
	put(t, leaf, "cpu.max", "50000 100000\n")
	must(t, m.Set(&specs.LinuxResources{CPU: &specs.LinuxCPU{Period: u64(20000)},
		Pids: &specs.LinuxPids{Limit: i64(-1)}, Memory: &specs.LinuxMemory{Limit: i64(-1)}}))
	for f, want := range map[string]string{"cpu.max": "50000 20000", "pids.max": "max", "memory.max": "max", "memory.swap.max": "max"} {
		if got := get(t, leaf, f); got != want {
			t.Errorf("after update %s = %q, want %q", f, got, want)
		}
	}

	// Rejections.
	for name, r := range map[string]*specs.LinuxResources{
		"limit below usage":     {Memory: &specs.LinuxMemory{Limit: i64(500), CheckBeforeUpdate: yes()}},
		"swap below memory":     {Memory: &specs.LinuxMemory{Limit: i64(100), Swap: i64(50)}},
		"unified path":          {Unified: map[string]string{"../cgroup.procs": "1"}},
		"unified procs":         {Unified: map[string]string{"cgroup.procs": "1"}},
		"missing controller":    {Unified: map[string]string{"misc.max": "x 1"}},
		"realtime on v2":        {CPU: &specs.LinuxCPU{RealtimeRuntime: i64(1000)}},
		"weight device w/o bfq": {BlockIO: &specs.LinuxBlockIO{WeightDevice: []specs.LinuxWeightDevice{{Weight: u16(10)}}}},
	} {
		if err := m.Set(r); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	err := m.Set(&specs.LinuxResources{Unified: map[string]string{"misc.max": "x 1"}})
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "misc controller") {
		t.Errorf("missing file error: %v", err)
	}
}

func TestSetIdleAndBFQ(t *testing.T) {
	root := fakeTree(t, "cpu.idle", "cpu.weight", "io.bfq.weight")
	leaf := root + "/a/b"
	m, _ := NewManager(root, "/a/b", nil)
	must(t, m.Set(&specs.LinuxResources{
		CPU: &specs.LinuxCPU{Idle: i64(1), Shares: u64(4096)},
		BlockIO: &specs.LinuxBlockIO{Weight: u16(300), WeightDevice: []specs.LinuxWeightDevice{
			{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 16}, Weight: u16(700)}}},
	}))
	for f, want := range map[string]string{"cpu.idle": "1", "cpu.weight": "", "io.bfq.weight": "8:16 700"} {
		if got := get(t, leaf, f); got != want {
			t.Errorf("%s = %q, want %q", f, got, want)
		}
	}
}

func TestConversions(t *testing.T) {
	for shares, want := range map[uint64]uint64{0: 0, 1: 1, 2: 1, 1024: 100, 262144: 10000, 1 << 20: 10000} {
		if got := CPUWeight(shares); got != want {
			t.Errorf("CPUWeight(%d) = %d, want %d", shares, got, want)
		}
	}
	prev := uint64(0)
	for s := uint64(2); s <= 262144; s += 97 {
		w := CPUWeight(s)
		if w < prev || w < 1 || w > 10000 {
			t.Fatalf("CPUWeight(%d) = %d after %d", s, w, prev)
		}
		prev = w
	}
	for w, want := range map[uint16]uint64{0: 0, 10: 1, 500: 4950, 1000: 10000} {
		if got := IOWeight(w); got != want {
			t.Errorf("IOWeight(%d) = %d, want %d", w, got, want)
		}
	}
	for _, c := range []struct {
		swap, mem int64
		want      string
		err       bool
	}{
		{0, -1, "max", false}, {-1, 100, "max", false}, {0, 100, "", false}, {300, -1, "300", false},
		{300, 100, "200", false}, {100, 100, "0", false}, {300, 0, "", true}, {50, 100, "", true},
	} {
		got, err := SwapV2(c.swap, c.mem)
		if got != c.want || (err != nil) != c.err {
			t.Errorf("SwapV2(%d, %d) = %q, %v", c.swap, c.mem, got, err)
		}
	}
}

func TestFreezeEventDriven(t *testing.T) {
	root := fakeTree(t, "cgroup.freeze")
	leaf := root + "/a/b"
	put(t, leaf, "cgroup.events", "populated 1\nfrozen 0\n")
	m, _ := NewManager(root, "/a/b", nil)
	// Play the kernel: once cgroup.freeze is 1, report frozen a bit later.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 500; i++ {
			if b, _ := os.ReadFile(leaf + "/cgroup.freeze"); string(b) == "1" {
				time.Sleep(50 * time.Millisecond)
				overwrite(t, leaf, "cgroup.events", "populated 1\nfrozen 1\n")
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	t0 := time.Now()
	must(t, m.Freeze())
	<-done
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("Freeze took %s", d)
	}
	if st, _ := m.FreezerState(); st != cgroups.Frozen {
		t.Errorf("state %s after Freeze", st)
	}
	overwrite(t, leaf, "cgroup.events", "populated 1\nfrozen 0\n")
	must(t, m.Thaw())
	if st, _ := m.FreezerState(); st != cgroups.Thawed {
		t.Errorf("state %s after Thaw", st)
	}
	// A state that never comes times out.
	if err := waitEvent(leaf, "frozen", "1", 100*time.Millisecond); err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("waitEvent: %v", err)
	}
}

func TestPidsAndSignal(t *testing.T) {
	root := fakeTree(t, "cgroup.kill")
	leaf := root + "/a/b"
	put(t, leaf, "cgroup.procs", "10\n11\n")
	must(t, os.Mkdir(leaf+"/sub", 0o755))
	put(t, leaf+"/sub", "cgroup.procs", "12\n")
	m, _ := NewManager(root, "/a/b", nil)
	pids, err := m.Pids()
	must(t, err)
	slices.Sort(pids)
	if !reflect.DeepEqual(pids, []int{10, 11, 12}) {
		t.Errorf("pids %v", pids)
	}
	must(t, m.Signal(9))
	if got := get(t, leaf, "cgroup.kill"); got != "1" {
		t.Errorf("cgroup.kill = %q", got)
	}
	gone, _ := NewManager(root, "/nope", nil)
	must(t, gone.Destroy()) // nothing there: not an error
	if gone.Exists() {
		t.Error("Exists on a missing cgroup")
	}
}

func TestUsage(t *testing.T) {
	root := fakeTree(t)
	leaf := root + "/a/b"
	put(t, leaf, "cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 10\nnr_throttled 2\nthrottled_usec 30\n")
	put(t, leaf, "memory.stat", "anon 4096\nfile 8192\n")
	put(t, leaf, "memory.current", "12288\n")
	put(t, leaf, "memory.max", "max\n")
	put(t, leaf, "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
	put(t, leaf, "memory.swap.current", "100\n")
	put(t, leaf, "memory.swap.max", "max\n")
	put(t, leaf, "pids.current", "3\n")
	put(t, leaf, "pids.max", "max\n")
	put(t, leaf, "io.stat", "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n")
	put(t, leaf, "hugetlb.2MB.current", "0\n")
	put(t, leaf, "hugetlb.2MB.rsvd.current", "0\n")
	put(t, leaf, "hugetlb.2MB.events", "max 5\n")
	m, _ := NewManager(root, "/a/b", nil)
	u, err := m.Usage()
	must(t, err)
	if u.CPU != (CPUUsage{Total: 1500000, User: 1000000, Kernel: 500000, Periods: 10, ThrottledPeriods: 2, ThrottledTime: 30000}) {
		t.Errorf("cpu %+v", u.CPU)
	}
	mu := u.Memory
	if mu.Cache != 8192 || mu.Usage.Usage != 12288 || mu.Usage.Limit != math.MaxUint64 || mu.Usage.Failcnt != 3 ||
		mu.OOMKill != 1 || mu.Swap.Usage != 12388 || mu.Swap.Limit != math.MaxUint64 || mu.Raw["anon"] != 4096 {
		t.Errorf("memory %+v", mu)
	}
	if u.Pids != (PidsUsage{Current: 3}) {
		t.Errorf("pids %+v", u.Pids)
	}
	if len(u.IO) != 6 || u.IO[0] != (IOEntry{8, 0, "Read", 100}) || u.IO[1] != (IOEntry{8, 0, "Write", 200}) {
		t.Errorf("io %+v", u.IO)
	}
	if !reflect.DeepEqual(u.Hugetlb, map[string]HugetlbUsage{"2MB": {Failcnt: 5}}) {
		t.Errorf("hugetlb %+v", u.Hugetlb)
	}
	st, err := m.Stats()
	must(t, err)
	if st.CPU.Usage.Total != 1500000 || st.Memory.Usage.Usage != 12288 || st.Pids.Current != 3 ||
		st.Hugetlb["2MB"].Failcnt != 5 || st.Memory.Raw["file"] != 8192 ||
		!reflect.DeepEqual(st.Blkio.IoServiceBytesRecursive, blkio(100, 200)) ||
		!reflect.DeepEqual(st.Blkio.IoServicedRecursive, blkio(1, 2)) {
		t.Errorf("stats %+v", st)
	}
}

// blkio is the entries of device 8:0 for read, write, discard 0.
func blkio(r, w uint64) []cgroups.BlkioEntry {
	e := func(op string, v uint64) cgroups.BlkioEntry {
		return cgroups.BlkioEntry{Major: 8, Minor: 0, Op: op, Value: v}
	}
	return []cgroups.BlkioEntry{e("Read", r), e("Write", w), e("Discard", 0)}
}

func TestOOMEvents(t *testing.T) {
	root := fakeTree(t)
	leaf := root + "/a/b"
	put(t, leaf, "memory.events", "low 0\nhigh 0\nmax 0\noom 1\noom_kill 1\n")
	m, _ := NewManager(root, "/a/b", nil)
	stop := make(chan struct{})
	ch, err := m.OOMEvents(stop)
	must(t, err)
	// Two more kills (the one before the call is not reported).
	overwrite(t, leaf, "memory.events", "low 0\nhigh 0\nmax 5\noom 3\noom_kill 3\n")
	for i := 0; i < 2; i++ {
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatalf("no OOM event %d", i+1)
		}
	}
	close(stop)
	select {
	case _, ok := <-ch:
		if ok {
			t.Error("an extra event")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("channel not closed after stop")
	}
	gone, _ := NewManager(root, "/a/none", nil)
	if _, err := gone.OOMEvents(nil); err == nil {
		t.Error("OOMEvents without memory.events: no error")
	}
}

func TestPressure(t *testing.T) {
	root := fakeTree(t)
	leaf := root + "/a/b"
	put(t, leaf, "cpu.pressure", "some avg10=1.50 avg60=0.25 avg300=0.00 total=12345\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
	put(t, leaf, "memory.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=7\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=3\n")
	m, _ := NewManager(root, "/a/b", nil)
	st, err := m.Stats()
	must(t, err)
	want := &cgroups.PSIStats{Some: cgroups.PSIData{Avg10: 1.5, Avg60: 0.25, Total: 12345}}
	if !reflect.DeepEqual(st.CPU.PSI, want) {
		t.Errorf("cpu psi %+v", st.CPU.PSI)
	}
	if st.Memory.PSI == nil || st.Memory.PSI.Full.Total != 3 || st.Memory.PSI.Some.Total != 7 {
		t.Errorf("memory psi %+v", st.Memory.PSI)
	}
	if st.Blkio.PSI != nil { // no io.pressure: no PSI, not zeros
		t.Errorf("io psi %+v", st.Blkio.PSI)
	}
	// runc's JSON shape: data.cpu.psi.some.avg10; a zero "full" is left out.
	b, err := json.Marshal(st)
	must(t, err)
	var got struct {
		CPU struct {
			PSI map[string]map[string]float64 `json:"psi"`
		} `json:"cpu"`
		Blkio map[string]any `json:"blkio"`
	}
	must(t, json.Unmarshal(b, &got))
	if got.CPU.PSI["some"]["avg10"] != 1.5 || got.CPU.PSI["some"]["total"] != 12345 {
		t.Errorf("json %s", b)
	}
	if _, ok := got.CPU.PSI["full"]; ok {
		t.Errorf("zero full psi in json: %s", b)
	}
	if _, ok := got.Blkio["psi"]; ok {
		t.Errorf("blkio psi in json without io.pressure: %s", b)
	}
	put(t, leaf, "io.pressure", "some avg10=x\n")
	if _, err := m.Stats(); err == nil || !strings.Contains(err.Error(), "io.pressure") {
		t.Errorf("bad io.pressure: %v", err)
	}
}
