package cgroups

import (
	"os"
	"path/filepath"
	"testing"
)

func TestInnerPath(t *testing.T) {
	for _, tc := range []struct {
		path, id, own, want string
		err                 bool
	}{
		{path: "", id: "c1", own: "/user.slice", want: "/user.slice/c1"},
		{path: "", id: "c1", own: "/", want: "/c1"},
		{path: "/abs/c", id: "c1", own: "/user.slice", want: "/abs/c"},
		{path: "rel/c", id: "c1", own: "/a", want: "/a/rel/c"},
		{path: "../../../../etc", id: "c1", own: "/a", want: "/etc"}, // cannot climb above the root
		{path: "/", id: "c1", own: "/a", err: true},
		{path: "", id: "", own: "/a", err: true},
	} {
		got, err := InnerPath(&Config{Path: tc.path, ID: tc.id}, tc.own)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("InnerPath(%q, id %q, own %q) = %q, %v; want %q (err %v)", tc.path, tc.id, tc.own, got, err, tc.want, tc.err)
		}
	}
}

func TestHierarchyDir(t *testing.T) {
	h := Hierarchy{Mountpoint: "/sys/fs/cgroup/memory", Root: "/"}
	if d, err := h.Dir("/a/b"); err != nil || d != "/sys/fs/cgroup/memory/a/b" {
		t.Errorf("Dir = %q, %v", d, err)
	}
	// A mount from inside a cgroup namespace (root /ns) shows /ns/x at x.
	h.Root = "/ns"
	if d, err := h.Dir("/ns/x"); err != nil || d != "/sys/fs/cgroup/memory/x" {
		t.Errorf("Dir = %q, %v", d, err)
	}
	if _, err := h.Dir("/other"); err == nil {
		t.Error("a cgroup outside the mount's root resolved")
	}
}

func TestParseCgroupFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "cgroup")
	os.WriteFile(f, []byte("9:name=systemd:/\n4:memory:/sup/x\n2:cpu,cpuacct:/c\n0::/u\n"), 0o644)
	m, err := ParseCgroupFile(f)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"name=systemd": "/", "memory": "/sup/x", "cpu": "/c", "cpuacct": "/c", "": "/u"}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%q: %q, want %q", k, m[k], v)
		}
	}
}

func TestV1Controllers(t *testing.T) {
	got := v1Controllers("rw,cpu,cpuacct")
	if len(got) != 2 || got[0] != "cpu" || got[1] != "cpuacct" {
		t.Errorf("got %v", got)
	}
	got = v1Controllers("rw,xattr,release_agent=/x,name=systemd")
	if len(got) != 1 || got[0] != "name=systemd" {
		t.Errorf("got %v", got)
	}
}

func TestParseHugePageSize(t *testing.T) {
	for in, want := range map[string]string{"hugepages-2048kB": "2MB", "hugepages-1048576kB": "1GB", "hugepages-64kB": "64KB"} {
		if got, err := ParseHugePageSize(in); err != nil || got != want {
			t.Errorf("%s: %q, %v; want %s", in, got, err, want)
		}
	}
}

func TestParseUint(t *testing.T) {
	if v, _ := ParseUint("max"); v != ^uint64(0) {
		t.Error("max")
	}
	if v, _ := ParseUint("9223372036854771712\n"); v != 9223372036854771712 {
		t.Error("big")
	}
	if v, err := ParseUint("-1"); err != nil || v != 0 {
		t.Error("-1")
	}
	if _, err := ParseUint("x"); err == nil {
		t.Error("x parsed")
	}
}

func TestEffectiveResources(t *testing.T) {
	r := EffectiveResources(nil)
	if len(r.Devices) != len(DefaultAllowedDevices) {
		t.Fatalf("%d rules", len(r.Devices))
	}
}
