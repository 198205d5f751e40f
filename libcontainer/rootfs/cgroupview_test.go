package rootfs

import (
	"reflect"
	"testing"

	"github.com/teu-runtime/teu/libcontainer/cgroups"
)

// The container's cgroup mounts on a hybrid v1 host: a tmpfs with one
// directory per hierarchy, each bound from the container's cgroup where it
// has one, else from ours (the init's set-up runs there), taken relative to
// the mount's root.
func TestHostCgroupViewHybrid(t *testing.T) {
	host := &cgroups.Host{
		Hierarchies: []cgroups.Hierarchy{
			{Mountpoint: "/sys/fs/cgroup/cpu,cpuacct", Root: "/", Controllers: []string{"cpu", "cpuacct"}},
			{Mountpoint: "/sys/fs/cgroup/memory", Root: "/", Controllers: []string{"memory"}},
			{Mountpoint: "/sys/fs/cgroup/systemd", Root: "/", Controllers: []string{"name=systemd"}},
			{Mountpoint: "/sys/fs/cgroup/perf_event", Root: "/", Controllers: []string{"perf_event"}},
			{Mountpoint: "/sys/fs/cgroup/unified", Root: "/", Unified: true},
		},
		// perf_event: not in /proc/self/cgroup, so not shown.
		Own: map[string]string{"cpu": "/user", "cpuacct": "/user", "memory": "/outside/me", "name=systemd": "/s", "": "/u"},
	}
	dirs := map[string]string{"cpu": "/sys/fs/cgroup/cpu,cpuacct/c1", "memory": "/sys/fs/cgroup/memory/c1"}
	got, err := HostCgroupView(host, dirs)
	if err != nil {
		t.Fatal(err)
	}
	want := CgroupView{Tmpfs: true, Hier: []CgroupHier{
		{Name: "cpu,cpuacct", FSType: "cgroup", Data: "cpu,cpuacct", Source: "/sys/fs/cgroup/cpu,cpuacct/c1"},
		{Name: "memory", FSType: "cgroup", Data: "memory", Source: "/sys/fs/cgroup/memory/c1"},
		{Name: "systemd", FSType: "cgroup", Data: "none,name=systemd", Source: "/sys/fs/cgroup/systemd/s"},
		{Name: "unified", FSType: "cgroup2", Source: "/sys/fs/cgroup/unified/u"},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

// On a cgroup v2 host the mount is the one hierarchy; a cgroup outside the
// mount's root (a cgroup namespace) is shown as the root.
func TestHostCgroupViewV2(t *testing.T) {
	host := &cgroups.Host{
		Hierarchies: []cgroups.Hierarchy{{Mountpoint: "/sys/fs/cgroup", Root: "/ns", Unified: true}},
		Own:         map[string]string{"": "/elsewhere"},
	}
	got, err := HostCgroupView(host, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := CgroupView{Hier: []CgroupHier{{FSType: "cgroup2", Source: "/sys/fs/cgroup"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	got, err = HostCgroupView(host, map[string]string{"": "/sys/fs/cgroup/c1"})
	if err != nil || got.Hier[0].Source != "/sys/fs/cgroup/c1" {
		t.Errorf("with the container's dir: %+v, %v", got, err)
	}
	if _, err := HostCgroupView(&cgroups.Host{}, nil); err == nil {
		t.Error("no hierarchy: no error")
	}
}
