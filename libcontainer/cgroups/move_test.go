package cgroups

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// MoveToOwn writes the pid into our own cgroup of each hierarchy the
// container's paths name, found through the host view it is given.
func TestMoveToOwn(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"cpu/own", "unified/me", "cpu/own/c1", "unified/me/c1"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, d, "cgroup.procs"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	host := &Host{
		Hierarchies: []Hierarchy{
			{Mountpoint: filepath.Join(root, "cpu"), Root: "/", Controllers: []string{"cpu", "cpuacct"}},
			{Mountpoint: filepath.Join(root, "unified"), Root: "/", Unified: true},
		},
		Own: map[string]string{"cpu": "/own", "cpuacct": "/own", "": "/me"},
	}
	paths := map[string]string{"cpu": filepath.Join(root, "cpu/own/c1"), "": filepath.Join(root, "unified/me/c1")}
	if err := MoveToOwn(42, paths, host); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"cpu/own", "unified/me"} {
		if b, _ := os.ReadFile(filepath.Join(root, d, "cgroup.procs")); string(b) != "42" {
			t.Errorf("%s/cgroup.procs = %q, want 42", d, b)
		}
	}
	paths["memory"] = filepath.Join(root, "memory/c1")
	if err := MoveToOwn(42, paths, host); err == nil || !strings.Contains(err.Error(), `no own cgroup for "memory"`) {
		t.Errorf("a hierarchy the host view lacks: %v", err)
	}
}
