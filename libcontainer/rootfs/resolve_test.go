package rootfs

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCheckEscape(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc/sub"), 0o755)
	os.Symlink("../../../../../tmp", filepath.Join(root, "evil"))
	os.Symlink("/etc", filepath.Join(root, "abs"))
	os.Symlink("sub/../..", filepath.Join(root, "etc/up"))
	os.Symlink("../../..", filepath.Join(root, "etc/sub/up3"))
	ok := []string{"/etc", "/abs/sub", "/etc/up/etc", "/missing/dir", "etc/sub"}
	bad := []string{"/evil", "/evil/x", "/etc/sub/up3/x", "/../x", "/missing/../../x"}
	for _, p := range ok {
		if err := checkEscape(root, p); err != nil {
			t.Errorf("checkEscape(%s) = %v, want nil", p, err)
		}
	}
	for _, p := range bad {
		if err := checkEscape(root, p); err == nil {
			t.Errorf("checkEscape(%s) = nil, want an escape error", p)
		}
	}
}

func TestOpenDestCreates(t *testing.T) {
	root := t.TempDir()
	rf, err := os.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	h, err := openDest(rf, root, "/a/b/file", true)
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	if fi, err := os.Stat(filepath.Join(root, "a/b/file")); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("file not created: %v", err)
	}
	os.Symlink("/a", filepath.Join(root, "link"))
	h, err = openDest(rf, root, "/link/b/dir", false)
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	if fi, err := os.Stat(filepath.Join(root, "a/b/dir")); err != nil || !fi.IsDir() {
		t.Fatalf("dir not created inside the root through an absolute link: %v", err)
	}
}

func TestResolveLexical(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.Symlink("/data", filepath.Join(root, "etc/x"))      // dangling
	os.Symlink("../var/y", filepath.Join(root, "etc/rel")) // dangling, relative
	cases := map[string]string{
		"/etc/x":        "/data",
		"/etc/x/sub":    "/data/sub",
		"etc/rel/z":     "/var/y/z",
		"/etc":          "/etc",
		"/":             "/",
		"/missing/a/./": "/missing/a",
	}
	for in, want := range cases {
		got, err := resolveLexical(root, in)
		if err != nil || got != want {
			t.Errorf("resolveLexical(%s) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestOpenDestDanglingLink(t *testing.T) {
	root := t.TempDir()
	rf, err := os.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	target := "/teu-unit-" + filepath.Base(root)
	os.Symlink(target, filepath.Join(root, "etc/x"))
	h, err := openDest(rf, root, "/etc/x", false)
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	if fi, err := os.Stat(filepath.Join(root, target)); err != nil || !fi.IsDir() {
		t.Fatalf("link target not created inside the root: %v", err)
	}
	if _, err := os.Lstat(target); err == nil {
		t.Fatalf("%s created on the host", target)
	}
}
