package systemd

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	sd "github.com/coreos/go-systemd/v22/dbus"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParsePath(t *testing.T) {
	for _, tc := range []struct {
		path, id    string
		slice, unit string
		cgroup      string
		err         string
	}{
		{"system.slice:teu:c1", "x", "system.slice", "teu-c1.scope", "/system.slice/teu-c1.scope", ""},
		{"", "c1", "system.slice", "teu-c1.scope", "/system.slice/teu-c1.scope", ""},
		{":docker:abc", "x", "system.slice", "docker-abc.scope", "/system.slice/docker-abc.scope", ""},
		{"machine.slice::abc", "x", "machine.slice", "abc.scope", "/machine.slice/abc.scope", ""},
		{"a-b-c.slice:p:n", "x", "a-b-c.slice", "p-n.scope", "/a.slice/a-b.slice/a-b-c.slice/p-n.scope", ""},
		{"-.slice:p:n", "x", "-.slice", "p-n.scope", "/p-n.scope", ""},
		{"/teu/c1", "x", "", "", "", "slice:prefix:name"},
		{"a:b", "x", "", "", "", "slice:prefix:name"},
		{"a:b:c:d", "x", "", "", "", "slice:prefix:name"},
		{"system:teu:c1", "x", "", "", "", "not a slice unit name"},
		{"a--b.slice:teu:c1", "x", "", "", "", "dash"},
		{"-a.slice:teu:c1", "x", "", "", "", "dash"},
		{"a/b.slice:teu:c1", "x", "", "", "", "not allowed"},
		{"system.slice:teu:", "x", "", "", "", "name part is empty"},
		{"system.slice:teu:../../x", "x", "", "", "", "not allowed"},
		{"system.slice:teu:x.slice", "x", "", "", "", "slice as the container's own unit"},
		{"", "", "", "", "", "neither"},
	} {
		u, err := ParsePath(tc.path, tc.id)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParsePath(%q): error %v, want one with %q", tc.path, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePath(%q): %v", tc.path, err)
			continue
		}
		if u.Slice != tc.slice || u.Name != tc.unit {
			t.Errorf("ParsePath(%q) = %+v, want %s %s", tc.path, u, tc.slice, tc.unit)
		}
		if p, err := u.CgroupPath(); err != nil || p != tc.cgroup {
			t.Errorf("ParsePath(%q).CgroupPath() = %q, %v; want %q", tc.path, p, err, tc.cgroup)
		}
	}
}

func TestUnitFromPaths(t *testing.T) {
	n, err := unitFromPaths(map[string]string{"": "/sys/fs/cgroup/system.slice/teu-c1.scope"})
	if err != nil || n != "teu-c1.scope" {
		t.Errorf("v2: %q %v", n, err)
	}
	n, err = unitFromPaths(map[string]string{"memory": "/sys/fs/cgroup/memory/system.slice/teu-c1.scope",
		"cpuset": "/sys/fs/cgroup/cpuset/system.slice/teu-c1.scope"})
	if err != nil || n != "teu-c1.scope" {
		t.Errorf("v1: %q %v", n, err)
	}
	if _, err := unitFromPaths(map[string]string{"": "/sys/fs/cgroup/teu/c1"}); err == nil {
		t.Error("a cgroup that is no scope was accepted")
	}
}

// props renders properties as NAME=VALUE in D-Bus text, for comparison.
func props(ps []sd.Property) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.Name+"="+p.Value.String())
	}
	return strings.Join(s, " ")
}

func i64(v int64) *int64   { return &v }
func u64(v uint64) *uint64 { return &v }
func u16(v uint16) *uint16 { return &v }

func TestResourcePropertiesV2(t *testing.T) {
	r := &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: i64(64 << 20), Reservation: i64(32 << 20), Swap: i64(96 << 20)},
		CPU:     &specs.LinuxCPU{Shares: u64(1024), Quota: i64(50000), Period: u64(100000), Cpus: "0-1,3", Mems: "0"},
		Pids:    &specs.LinuxPids{Limit: i64(42)},
		BlockIO: &specs.LinuxBlockIO{Weight: u16(500)},
		Unified: map[string]string{"memory.high": "50000000", "io.max": "8:0 rbps=1", "memory.min": "bad"},
	}
	ps, err := resourceProperties(r, true)
	if err != nil {
		t.Fatal(err)
	}
	want := "MemoryMax=@t 67108864 MemoryLow=@t 33554432 MemorySwapMax=@t 33554432 CPUWeight=@t 100 " +
		"CPUQuotaPerSecUSec=@t 500000 CPUQuotaPeriodUSec=@t 100000 AllowedCPUs=@ay [0xb] AllowedMemoryNodes=@ay [0x1] " +
		"TasksMax=@t 42 IOWeight=@t 4950 MemoryHigh=@t 50000000"
	if got := props(ps); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestResourcePropertiesV1(t *testing.T) {
	r := &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: i64(-1)},
		CPU:     &specs.LinuxCPU{Shares: u64(512), Quota: i64(-1), Cpus: "0"},
		Pids:    &specs.LinuxPids{Limit: i64(-1)},
		BlockIO: &specs.LinuxBlockIO{Weight: u16(300)},
	}
	ps, err := resourceProperties(r, false)
	if err != nil {
		t.Fatal(err)
	}
	want := "MemoryLimit=@t 18446744073709551615 CPUShares=@t 512 CPUQuotaPerSecUSec=@t 18446744073709551615 " +
		"TasksMax=@t 18446744073709551615 BlockIOWeight=@t 300"
	if got := props(ps); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestResourcePropertiesUpdate(t *testing.T) {
	// update leaves unset fields nil or 0: nothing for them.
	ps, err := resourceProperties(&specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(0), Reservation: i64(0)},
		CPU:    &specs.LinuxCPU{Shares: u64(0), Period: u64(50000)},
		Pids:   &specs.LinuxPids{Limit: i64(10)},
	}, true)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := props(ps), "CPUQuotaPeriodUSec=@t 50000 TasksMax=@t 10"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if ps, _ := resourceProperties(nil, true); ps != nil {
		t.Errorf("nil resources: %s", props(ps))
	}
	// swap without a memory limit cannot be converted (memory+swap on v1)
	if _, err := resourceProperties(&specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: i64(1 << 20)}}, true); err == nil {
		t.Error("swap without limit accepted")
	}
}

func TestQuotaPerSec(t *testing.T) {
	for _, tc := range []struct {
		quota  int64
		period uint64
		want   uint64
	}{
		{50000, 100000, 500000},
		{12345, 100000, 130000}, // 123450 µs/s, rounded up to whole percents
		{10000, 0, 100000},      // default period
		{200000, 100000, 2000000},
		{1, 1000000, 10000},
		{-1, 100000, infinity},
	} {
		if got := quotaPerSec(tc.quota, tc.period); got != tc.want {
			t.Errorf("quotaPerSec(%d, %d) = %d, want %d", tc.quota, tc.period, got, tc.want)
		}
	}
}

func TestCpusetBits(t *testing.T) {
	for in, want := range map[string][]byte{
		"0":        {0x01},
		"0-3":      {0x0f},
		"1,3":      {0x0a},
		"7-9":      {0x80, 0x03},
		" 0 , 16 ": {0x01, 0x00, 0x01},
	} {
		got, err := cpusetBits(in)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("cpusetBits(%q) = %x, %v; want %x", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "a", "3-1", "1-", "-1", "70000"} {
		if _, err := cpusetBits(bad); err == nil {
			t.Errorf("cpusetBits(%q) accepted", bad)
		}
	}
}

func TestAnnotationProperties(t *testing.T) {
	ps, err := annotationProperties(map[string]string{
		"org.systemd.property.CollectMode":     "'inactive-or-failed'",
		"org.systemd.property.TimeoutStopUSec": "uint64 123456789",
		"org.systemd.property.RuntimeMaxSec":   "90",
		"org.systemd.property.IOWeight":        "uint64 77",
		"org.systemd.property.Delegate":        "false",
		"com.example.other":                    "ignored",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `CollectMode="inactive-or-failed" Delegate=false IOWeight=@t 77 RuntimeMaxUSec=@t 90000000 TimeoutStopUSec=@t 123456789`
	if got := props(ps); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	for k, v := range map[string]string{
		"org.systemd.property.CollectMode":   "inactive-or-failed", // not GVariant text
		"org.systemd.property.lower":         "1",
		"org.systemd.property.Bad-Name":      "1",
		"org.systemd.property.":              "1",
		"org.systemd.property.TimeoutSec":    "'soon'",
		"org.systemd.property.RuntimeMaxSec": "-5",
	} {
		if _, err := annotationProperties(map[string]string{k: v}); err == nil {
			t.Errorf("%s=%s accepted", k, v)
		}
	}
}

func TestMergeAndBase(t *testing.T) {
	base := baseProperties("c1", "system.slice", 123, true)
	ann, err := annotationProperties(map[string]string{"org.systemd.property.Delegate": "false",
		"org.systemd.property.CollectMode": "'inactive-or-failed'"})
	if err != nil {
		t.Fatal(err)
	}
	got := props(merge(base, ann))
	want := `Description="teu container c1" Slice="system.slice" Delegate=false DefaultDependencies=false ` +
		`MemoryAccounting=true CPUAccounting=true TasksAccounting=true IOAccounting=true PIDs=@au [123] CollectMode="inactive-or-failed"`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if s := fmt.Sprint(props(baseProperties("c1", "x.slice", 0, false))); strings.Contains(s, "PIDs") || !strings.Contains(s, "BlockIOAccounting=true") {
		t.Errorf("v1 base without pid: %s", s)
	}
}

// Unified files of another shape than one number map to systemd's
// properties as runc maps them.
func TestUnifiedPropertiesShaped(t *testing.T) {
	ps := unifiedProperties(map[string]string{"cpu.max": "10000 100000", "cpuset.cpus": "0", "cpuset.mems": "0"})
	want := "CPUQuotaPerSecUSec=@t 100000 CPUQuotaPeriodUSec=@t 100000 AllowedCPUs=@ay [0x1] AllowedMemoryNodes=@ay [0x1]"
	if got := props(ps); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := props(unifiedProperties(map[string]string{"cpu.max": "max"})); got != "CPUQuotaPerSecUSec=@t 18446744073709551615" {
		t.Errorf("cpu.max max: %s", got)
	}
}

// The files get the quota systemd keeps (runc's update.bats: 500000 per
// 900000 is 560 ms a second, so 504000).
func TestSystemdQuota(t *testing.T) {
	r := &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(500000), Period: u64(900000)}}
	if got := *systemdQuota(r).CPU.Quota; got != 504000 {
		t.Errorf("quota %d, want 504000", got)
	}
	if *r.CPU.Quota != 500000 {
		t.Error("the caller's resources changed")
	}
	r = &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(50000), Period: u64(100000)}}
	if got := *systemdQuota(r).CPU.Quota; got != 50000 {
		t.Errorf("quota %d, want 50000 (already whole 10 ms)", got)
	}
}
