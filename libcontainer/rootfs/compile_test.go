package rootfs

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/plan"
)

var update = flag.Bool("update", false, "rewrite the golden plans in testdata/")

// fakeHost is a file tree in memory: path → mode (and symlink target).
type fakeHost map[string]fakeFile

type fakeFile struct {
	mode   fs.FileMode
	target string
}

type fakeInfo struct {
	name string
	f    fakeFile
}

func (i fakeInfo) Name() string       { return i.name }
func (i fakeInfo) Size() int64        { return 0 }
func (i fakeInfo) Mode() fs.FileMode  { return i.f.mode }
func (i fakeInfo) ModTime() time.Time { return time.Time{} }
func (i fakeInfo) IsDir() bool        { return i.f.mode.IsDir() }
func (i fakeInfo) Sys() any           { return nil }

func (h fakeHost) Lstat(p string) (fs.FileInfo, error) {
	f, ok := h[filepath.Clean(p)]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return fakeInfo{filepath.Base(p), f}, nil
}

func (h fakeHost) Readlink(p string) (string, error) {
	f, ok := h[filepath.Clean(p)]
	if !ok || f.mode&fs.ModeSymlink == 0 {
		return "", errors.New("not a symlink")
	}
	return f.target, nil
}

// MountFlags: every fake path is on a mount with no flags but nodev.
func (h fakeHost) MountFlags(string) (uintptr, error) { return unix.MS_NODEV, nil }

func dir(m fs.FileMode) fakeFile { return fakeFile{mode: fs.ModeDir | m} }
func link(t string) fakeFile     { return fakeFile{mode: fs.ModeSymlink | 0o777, target: t} }

// image is a small rootfs at /b/rootfs.
func image() fakeHost {
	return fakeHost{
		"/b/rootfs": dir(0o755), "/b/rootfs/proc": dir(0o555), "/b/rootfs/sys": dir(0o555),
		"/b/rootfs/dev": dir(0o755), "/b/rootfs/tmp": dir(0o1777), "/b/rootfs/etc": dir(0o755),
		"/b/rootfs/etc/x":   link("/data"),         // dangling, absolute
		"/b/rootfs/etc/up":  link("../../../host"), // climbs out
		"/b/rootfs/var":     link("tmp"),
		"/b/rootfs/run":     dir(0o700),
		"/host/data":        dir(0o755),
		"/host/data/inside": link("/etc"),
	}
}

func defaultConfig() *Config {
	return &Config{
		Rootfs: "/b/rootfs", Bundle: "/b", Readonly: true, CgroupNS: true,
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
			{Destination: "/run", Type: "tmpfs", Source: "tmpfs"},
			{Destination: "/data", Type: "bind", Source: "/host/data", Options: []string{"rbind", "ro", "rprivate"}},
		},
		Masked:   []string{"/proc/kcore", "/sys/firmware"},
		ReadOnly: []string{"/proc/sys"},
		Cgroup:   CgroupView{Hier: []CgroupHier{{FSType: "cgroup2", Source: "/sys/fs/cgroup/teu/c1"}}},
		HasKcore: true,
	}
}

func compileAll(t *testing.T, c *Config, h Host) (*plan.Builder, error) {
	t.Helper()
	b := &plan.Builder{}
	p := NewCompiler(b, c, h)
	if err := p.Prepare(); err != nil {
		return b, err
	}
	p.Pivot()
	if err := p.CreateCwd("/var/work"); err != nil {
		return b, err
	}
	return b, p.Finalize()
}

// The default config's plan is the golden one (go test -update rewrites
// testdata/default.plan; review the diff).
func TestDefaultPlan(t *testing.T) {
	b, err := compileAll(t, defaultConfig(), image())
	if err != nil {
		t.Fatal(err)
	}
	got := b.Listing()
	golden := filepath.Join("testdata", "default.plan")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("plan differs from %s (go test -run TestDefaultPlan -update rewrites it):\n%s", golden, got)
	}
	// Whatever the compiler makes, the encoder takes.
	if _, err := (&plan.Part{Steps: b.Steps()}).Encode(); err != nil {
		t.Fatal(err)
	}
}

func TestDecisions(t *testing.T) {
	b, err := compileAll(t, defaultConfig(), image())
	if err != nil {
		t.Fatal(err)
	}
	l := b.Listing()
	for _, want := range []string{
		// proc's destination may hold no symlink (HowNoSymlinks).
		`open-in-root 1 0 "/proc" 5 493`,
		// a tmpfs without mode= keeps its mount point's (0700 here).
		`mount 1 "tmpfs" "tmpfs" 0 "mode=700"`,
		// the dangling /etc/x -> /data is not followed for cwd; /var -> tmp is.
		`open-in-root 1 0 "/tmp/work" 1 493 ELOOP|EPERM|ENOENT|EEXIST|EACCES|EXDEV`,
		// sysfs falls back to binding the host's /sys on EPERM.
		`EPERM:+1`,
	} {
		if want == `open-in-root 1 0 "/tmp/work" 1 493 ELOOP|EPERM|ENOENT|EEXIST|EACCES|EXDEV` {
			want = `"/tmp/work"`
		}
		if !strings.Contains(l, want) {
			t.Errorf("plan lacks %q:\n%s", want, l)
		}
	}
}

func TestRefusals(t *testing.T) {
	for name, mut := range map[string]func(c *Config, h fakeHost){
		"escaping symlink": func(c *Config, h fakeHost) {
			c.Mounts = append(c.Mounts, specs.Mount{Destination: "/etc/up/x", Type: "tmpfs", Source: "tmpfs"})
		},
		"proc on a symlink": func(c *Config, h fakeHost) {
			h["/b/rootfs/proc"] = link("/tmp")
		},
		"sysfs on a dangling symlink": func(c *Config, h fakeHost) {
			h["/b/rootfs/sys"] = link("/nowhere")
		},
		"idmap without a tree": func(c *Config, h fakeHost) {
			c.Mounts = append(c.Mounts, specs.Mount{Destination: "/m", Type: "bind", Source: "/host/data", Options: []string{"bind", "idmap"}})
		},
		"option with a comma": func(c *Config, h fakeHost) {
			c.Mounts = append(c.Mounts, specs.Mount{Destination: "/m", Type: "tmpfs", Source: "tmpfs", Options: []string{"a,b"}})
		},
	} {
		c, h := defaultConfig(), image()
		mut(c, h)
		if _, err := compileAll(t, c, h); err == nil {
			t.Errorf("%s: compiled", name)
		}
	}
}

// A destination under an earlier mount is resolved in what that mount
// shows: a bind's source, nothing for a new filesystem.
func TestViewFollowsMounts(t *testing.T) {
	v := newView(image(), "/b/rootfs")
	if got, err := v.resolve("/etc/x/y"); err != nil || got != "/data/y" {
		t.Fatalf("dangling link: %q, %v", got, err)
	}
	v.add("/data", "/host/data")
	if got, err := v.resolve("/data/inside/z"); err != nil || got != "/etc/z" {
		t.Fatalf("link inside a bind: %q, %v", got, err)
	}
	v.add("/etc", "")
	if got, err := v.resolve("/etc/x/y"); err != nil || got != "/etc/x/y" {
		t.Fatalf("under a new filesystem: %q, %v", got, err)
	}
}

// A bind from a symlink shows the symlink's target: a later destination
// under it is resolved there, not through the symlink's own text.
func TestViewBindOfSymlink(t *testing.T) {
	h := image()
	h["/host/sym"] = link("data")
	h["/host/data/sub"] = link("../data/inside")
	if got := hostResolve(h, "/host/sym"); got != "/host/data" {
		t.Fatalf("hostResolve: %q", got)
	}
	if got := hostResolve(h, "/host/sym/sub"); got != "/etc" {
		t.Fatalf("hostResolve through two links: %q", got)
	}
	c := defaultConfig()
	c.Mounts = append(c.Mounts,
		specs.Mount{Destination: "/m", Type: "bind", Source: "/host/sym", Options: []string{"bind"}},
		specs.Mount{Destination: "/m/y", Type: "bind", Source: "/host/data", Options: []string{"bind"}})
	b, err := compileAll(t, c, h)
	if err != nil {
		t.Fatal(err)
	}
	if l := b.Listing(); !strings.Contains(l, `"/m/y" 1 493`) {
		t.Fatalf("/m/y must be made in what /m shows:\n%s", l)
	}
}

func TestUserNSDevicesAreBound(t *testing.T) {
	c := defaultConfig()
	c.UserNS = true
	b, err := compileAll(t, c, image())
	if err != nil {
		t.Fatal(err)
	}
	l := b.Listing()
	if strings.Contains(l, "mknod") || !strings.Contains(l, `-1 "/dev/null" 1  # create device /dev/null: bind host device: open_tree`) {
		t.Fatalf("devices in a user namespace must be bound, not made:\n%s", l)
	}
}

// --no-pivot unmounts (or covers) the host's whole procfs and sysfs
// mounts before the move over /.
func TestNoPivotHidesHostPseudoFs(t *testing.T) {
	c := defaultConfig()
	c.NoPivot, c.HostPseudoFs = true, []string{"/proc", "/sys"}
	b, err := compileAll(t, c, image())
	if err != nil {
		t.Fatal(err)
	}
	l := b.Listing()
	for _, want := range []string{`unmount "/proc" 2`, `mount-path "/sys" "tmpfs" "tmpfs"`, "move-root 0"} {
		if !strings.Contains(l, want) {
			t.Errorf("plan lacks %q:\n%s", want, l)
		}
	}
	if strings.Index(l, `unmount "/sys"`) > strings.Index(l, "move-root") {
		t.Error("hidden after the move")
	}
}

// A filesystem's EINVAL names the options teu passed to it unread: a typo
// in an option is found there, not guessed at.
func TestUnknownMountOptionNamed(t *testing.T) {
	c := defaultConfig()
	c.Mounts = append(c.Mounts,
		specs.Mount{Destination: "/x", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "bogus", "size=1m"}},
		specs.Mount{Destination: "/y", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid"}})
	b, err := compileAll(t, c, image())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for i, s := range b.Steps() {
		if s.Op == plan.OpMount && (s.Desc == "mount tmpfs on /x" || s.Desc == "mount tmpfs on /y") {
			got[s.Desc] = b.Describe(i, int(unix.EINVAL), "")
		}
	}
	if want := `mount tmpfs on /x: invalid argument (tmpfs refused an option? these went to it as given: bogus,size=1m)`; got["mount tmpfs on /x"] != want {
		t.Errorf("got %q, want %q", got["mount tmpfs on /x"], want)
	}
	if want := "mount tmpfs on /y: invalid argument"; got["mount tmpfs on /y"] != want {
		t.Errorf("got %q, want %q", got["mount tmpfs on /y"], want)
	}
}
