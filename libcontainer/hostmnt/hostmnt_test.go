package hostmnt

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestCheck(t *testing.T) {
	own := &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.MountNamespace}}, MaskedPaths: []string{"/x"}}
	for _, tc := range []struct {
		name    string
		l       *specs.Linux
		noPivot bool
		err     string
	}{
		{"own namespace", own, true, ""},
		{"inherited, plain", &specs.Linux{}, false, ""},
		{"no pivot", &specs.Linux{}, true, "--no-pivot needs a mount namespace"},
		{"masked", &specs.Linux{MaskedPaths: []string{"/x"}}, false, "maskedPaths"},
		{"read-only", &specs.Linux{ReadonlyPaths: []string{"/x"}}, false, "readonlyPaths"},
		{"propagation", &specs.Linux{RootfsPropagation: "shared"}, false, "rootfsPropagation"},
	} {
		err := Check(&specs.Spec{Linux: tc.l}, tc.noPivot)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.err)
		}
	}
	if !Inherits(&specs.Spec{}) {
		t.Error("a spec without linux shares the mount namespace")
	}
}

// TestUnmount mounts two stacked tmpfs under a temp "rootfs" and
// one beside it, and has the two new ones under the rootfs found and
// unmounted.
func TestUnmount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: mounts")
	}
	dir := t.TempDir()
	rootfs, beside := filepath.Join(dir, "rootfs"), filepath.Join(dir, "rootfs2")
	for _, d := range []string{rootfs + "/a", beside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mount := func(p string) {
		t.Helper()
		if err := unix.Mount("tmpfs", p, "tmpfs", 0, "size=64k"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Unmount(p, unix.MNT_DETACH) })
	}
	before, err := IDsUnder(rootfs)
	if err != nil || len(before) != 0 {
		t.Fatalf("mounts under a fresh dir: %v, %v", before, err)
	}
	mount(beside)
	mount(rootfs + "/a")
	os.Mkdir(rootfs+"/a/b", 0o755)
	mount(rootfs + "/a/b")
	ids, err := NewUnder(rootfs, before)
	if err != nil || len(ids) != 2 {
		t.Fatalf("newMountsUnder = %v, %v; want the 2 under the rootfs", ids, err)
	}
	if err := Unmount(rootfs, ids); err != nil {
		t.Fatal(err)
	}
	if left, _ := mountsUnder(rootfs); len(left) != 0 {
		t.Errorf("left under the rootfs: %v", left)
	}
	if ms, _ := mountsUnder(beside); len(ms) != 1 {
		t.Errorf("the mount beside the rootfs was touched: %v", ms)
	}
}
