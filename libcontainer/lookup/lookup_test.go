package lookup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// root makes a container root with files (name → mode; 0 means a
// directory, -1 a FIFO) and returns an O_PATH fd of it.
func root(t *testing.T, files map[string]int, passwd string) int {
	t.Helper()
	dir := t.TempDir()
	for name, mode := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch mode {
		case 0:
			err = os.MkdirAll(p, 0o755)
		case -1:
			err = unix.Mkfifo(p, 0o644)
		default:
			err = os.WriteFile(p, []byte("x"), os.FileMode(mode))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if passwd != "" {
		os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
		if err := os.WriteFile(filepath.Join(dir, "etc/passwd"), []byte(passwd), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A symlink out of the root resolves inside it.
	if err := os.Symlink("/../../../../bin/true", filepath.Join(dir, "escape")); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

func TestHome(t *testing.T) {
	fd := root(t, nil, "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\nnohome:x:7:7:::\n")
	for uid, want := range map[int]string{0: "/root", 1000: "/home/app", 7: "/", 42: "/"} {
		if got := Home(fd, uid); got != want {
			t.Errorf("Home(%d) = %q, want %q", uid, got, want)
		}
	}
	if got := Home(root(t, nil, ""), 0); got != "/" {
		t.Errorf("Home without /etc/passwd = %q", got)
	}
	if got := Home(root(t, map[string]int{"etc/passwd": -1}, ""), 0); got != "/" {
		t.Errorf("Home with a FIFO for /etc/passwd = %q", got)
	}
}

func TestPath(t *testing.T) {
	fd := root(t, map[string]int{
		"bin/sh": 0o755, "usr/bin/sh": 0o755, "usr/bin/tool": 0o755, "bin/data": 0o644,
		"opt/dir": 0, "work/local": 0o755, "work/sub/rel": 0o755,
	}, "")
	for _, tc := range []struct {
		cwd, argv0 string
		env        []string
		want, err  string
	}{
		{"/", "sh", nil, "/usr/bin/sh", ""}, // the default PATH has /usr/bin before /bin
		{"/", "sh", []string{"PATH=/bin:/usr/bin"}, "/bin/sh", ""},
		{"/", "tool", []string{"PATH=/bin:/usr/bin"}, "/usr/bin/tool", ""},
		{"/", "/bin/sh", nil, "/bin/sh", ""},
		{"/work", "./local", nil, "./local", ""},
		{"/work", "rel", []string{"PATH=sub"}, "./sub/rel", ""},
		{"/work", "local", []string{"PATH=:/bin"}, "./local", ""}, // an empty entry is the cwd
		{"/", "data", []string{"PATH=/bin"}, "", "executable file not found in $PATH"},
		{"/", "/bin/data", nil, "", "permission denied"},
		{"/", "/opt/dir", nil, "", "is a directory"},
		{"/", "/nosuch", nil, "", "no such file or directory"},
		{"/", "/escape", nil, "", "no such file or directory"}, // /bin/true of the host is not in the root
	} {
		got, err := Path(fd, tc.cwd, tc.argv0, tc.env)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("Path(%q, %q, %q) = %q, %v; want %q, %q", tc.cwd, tc.argv0, tc.env, got, err, tc.want, tc.err)
		}
	}
}
