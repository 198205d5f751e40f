package rootfs

import "testing"

func TestUnderRoot(t *testing.T) {
	for _, tc := range []struct {
		root, p, rest string
		ok            bool
	}{
		{"/b/rootfs", "/b/rootfs/data", "/data", true},
		{"/b/rootfs", "/b/rootfs", "/", true},
		{"/b/rootfs", "/b/rootfs/../rootfs/x", "/x", true},
		{"/b/rootfs", "/b/rootfs2/x", "", false},
		{"/b/rootfs", "/b/rootfs/../etc", "", false},
		{"/b/rootfs/", "/b/rootfs/a/b/", "/a/b", true},
		{"/", "/etc", "/etc", true},
	} {
		rest, ok := underRoot(tc.root, tc.p)
		if rest != tc.rest || ok != tc.ok {
			t.Errorf("underRoot(%q, %q) = %q, %v; want %q, %v", tc.root, tc.p, rest, ok, tc.rest, tc.ok)
		}
	}
}
