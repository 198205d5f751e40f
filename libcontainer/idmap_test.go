package libcontainer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestMain lets the test binary be the user namespace holder newUserns
// starts (it runs /proc/self/exe).
func TestMain(m *testing.M) {
	HoldUsernsIfAsked()
	os.Exit(m.Run())
}

func TestIsBindMount(t *testing.T) {
	for _, tc := range []struct {
		m    specs.Mount
		want bool
	}{
		{specs.Mount{Type: "bind"}, true}, {specs.Mount{Options: []string{"ro", "rbind"}}, true},
		{specs.Mount{Type: "none", Options: []string{"bind"}}, true}, {specs.Mount{Type: "tmpfs"}, false},
	} {
		if got := isBindMount(&tc.m); got != tc.want {
			t.Errorf("isBindMount(%+v) = %v", tc.m, got)
		}
	}
}

// TestMountTrees plans the trees of an idmapped bind of a host directory
// (made now), of one inside the rootfs (made by the init, finished here)
// and of a tmpfs (none), with one user namespace per mapping.
func TestMountTrees(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: idmapped mounts")
	}
	bundle := t.TempDir()
	rootfs := filepath.Join(bundle, "rootfs")
	for _, d := range []string{rootfs + "/data", bundle + "/host"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 1000}}
	s := &specs.Spec{
		Linux: &specs.Linux{UIDMappings: maps, GIDMappings: maps, Namespaces: []specs.LinuxNamespace{{Type: specs.UserNamespace}}},
		Mounts: []specs.Mount{
			{Destination: "/host", Type: "bind", Source: bundle + "/host", Options: []string{"rbind", "idmap"}},
			{Destination: "/in", Type: "bind", Source: rootfs + "/data", Options: []string{"bind", "idmap"}},
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"},
			{Destination: "/own", Type: "bind", Source: bundle + "/host", Options: []string{"bind"},
				UIDMappings: []specs.LinuxIDMapping{{HostID: 5000, Size: 10}}, GIDMappings: []specs.LinuxIDMapping{{HostID: 5000, Size: 10}}},
		},
	}
	mt := &mountTrees{s: s, bundle: bundle, rootfs: rootfs}
	defer mt.close()
	made, later, err := mt.plan()
	if err != nil {
		if strings.Contains(err.Error(), "invalid argument") || strings.Contains(err.Error(), "not supported") {
			t.Skip("no idmapped mounts here: ", err)
		}
		t.Fatal(err)
	}
	defer func() {
		for _, f := range made {
			f.Close()
		}
	}()
	if len(made) != 2 || made[0] == nil || made[3] == nil || len(later) != 1 || !later[1] {
		t.Fatalf("plan: made %v, later %v", made, later)
	}
	// The container's maps and the mount's own: two namespaces, not ours.
	if len(mt.userns) != 2 {
		t.Errorf("%d user namespaces for 2 mappings", len(mt.userns))
	}
	var ours unix.Stat_t
	unix.Stat("/proc/self/ns/user", &ours)
	for k, f := range mt.userns {
		var st unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &st); err != nil || st.Ino == ours.Ino {
			t.Errorf("user namespace for %q is ours (%v)", k, err)
		}
	}
	// The init's clone of the source inside the rootfs, finished here.
	fd, err := unix.OpenTree(unix.AT_FDCWD, rootfs+"/data", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := mt.finish(1, fd); err != nil {
		t.Fatal(err)
	}
	if len(mt.userns) != 2 {
		t.Error("finish made a user namespace again")
	}
	if err := mt.finish(9, fd); err == nil {
		t.Error("finish of a mount that is not there succeeded")
	}
}
