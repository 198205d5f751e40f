package libcontainer

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/checkpoint-restore/go-criu/v8/rpc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/criu"
	"github.com/teu-runtime/teu/libcontainer/state"
)

func TestExternalMounts(t *testing.T) {
	spec := &specs.Spec{
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/data", Type: "bind", Source: "/srv/data", Options: []string{"rbind"}},
			{Destination: "etc/conf", Source: "conf", Options: []string{"bind", "ro"}}, // relative both
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"},
			// with a cgroup namespace the kernel roots a fresh mount: CRIU's
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup"},
		},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{{Type: specs.MountNamespace}, {Type: specs.CgroupNamespace}},
			Devices:    []specs.LinuxDevice{{Path: "/dev/fuse"}, {Path: "/dev/null"}},
		},
	}
	got, err := externalMounts(spec, "/bundle", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []extMount{
		{"/data", "/srv/data"}, {"/etc/conf", "/bundle/conf"},
		{"/dev/fuse", "/dev/fuse"}, {"/dev/null", "/dev/null"}, {"/dev/zero", "/dev/zero"},
		{"/dev/full", "/dev/full"}, {"/dev/random", "/dev/random"}, {"/dev/urandom", "/dev/urandom"},
		{"/dev/tty", "/dev/tty"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

func TestMountKey(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "real/conf"), 0o755)
	os.Symlink("/real/conf", filepath.Join(root, "conf"))
	os.Mkdir(filepath.Join(root, "a"), 0o755)
	os.Symlink("/", filepath.Join(root, "a/root"))
	os.Symlink("/b/data]:/name", filepath.Join(root, "a/bad"))
	os.Symlink("../../../../etc", filepath.Join(root, "a/up"))
	for dest, want := range map[string]string{
		"/data":      "/data",      // missing: as it is
		"/conf":      "/real/conf", // a symlink in the rootfs moves it
		"/a/root":    "",           // to / itself: a key CRIU must not get
		"/a/bad":     "/b/data]:/name",
		"/a/up/x":    "/etc/x", // cannot climb out of the rootfs
		"/real/conf": "/real/conf",
	} {
		if got := mountKey(root, dest); got != want {
			t.Errorf("mountKey(%s) = %q, want %q", dest, got, want)
		}
	}
	for _, dest := range []string{"/a/root", "/a/bad"} {
		if _, err := criu.ExtMount(mountKey(root, dest), "/x"); err == nil {
			t.Errorf("key of %s accepted", dest)
		}
	}
}

func TestCriuConfigFile(t *testing.T) {
	for _, c := range []struct {
		ann  map[string]string
		want string
	}{
		{nil, "/etc/criu/runc.conf"},
		{map[string]string{"org.criu.config": "/my.conf"}, "/my.conf"},
		{map[string]string{"org.criu.config": ""}, ""}, // none at all
	} {
		o := &rpc.CriuOpts{}
		criuConfigFile(o, c.ann)
		if o.GetConfigFile() != c.want {
			t.Errorf("%v: config file %q, want %q", c.ann, o.GetConfigFile(), c.want)
		}
	}
}

func TestExternalNs(t *testing.T) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &st); err != nil {
		t.Skip(err)
	}
	spec := &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
		{Type: specs.NetworkNamespace, Path: "/proc/self/ns/net"}, {Type: specs.PIDNamespace},
	}}}
	got, err := externalNs(spec, specs.NetworkNamespace, 31701)
	if err != nil || got != fmt.Sprintf("net[%d]:extRootNetNS", st.Ino) {
		t.Errorf("net: %q, %v", got, err)
	}
	if got, err := externalNs(spec, specs.PIDNamespace, 31701); err != nil || got != "" {
		t.Errorf("own pid namespace: %q, %v", got, err)
	}
	if _, err := externalNs(spec, specs.NetworkNamespace, 31000); err == nil || !strings.Contains(err.Error(), "3.11.0") {
		t.Errorf("old criu: %v", err)
	}
}

func TestProcCgroups(t *testing.T) {
	got, err := procCgroups(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile("/proc/self/cgroup")
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(l, ":", 3)
		for _, c := range strings.Split(parts[1], ",") {
			if got[c] != parts[2] {
				t.Errorf("controller %q: %q, want %q", c, got[c], parts[2])
			}
		}
	}
}

func TestOnTmpfs(t *testing.T) {
	mounts := []specs.Mount{{Destination: "/dev", Type: "tmpfs"}, {Destination: "/run/", Type: "tmpfs"}}
	for dest, want := range map[string]bool{"/dev/pts": true, "/dev": false, "/run/x/y": true, "/devices": false, "/data": false} {
		if onTmpfs(dest, mounts) != want {
			t.Errorf("onTmpfs(%s) != %v", dest, want)
		}
	}
}

// prepareMountpoints makes the destinations in the rootfs, nested ones
// inside writable bind sources, in a mount namespace of its own: none of
// its binds shows in ours.
func TestPrepareMountpoints(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (a mount namespace)")
	}
	dir := t.TempDir()
	rootfs, src, ro := filepath.Join(dir, "rootfs"), filepath.Join(dir, "src"), filepath.Join(dir, "ro")
	for _, d := range []string{rootfs, src, ro} {
		os.Mkdir(d, 0o755)
	}
	os.WriteFile(filepath.Join(dir, "file"), []byte("x"), 0o644)
	// A symlink in the rootfs is followed inside it, never out.
	os.Mkdir(filepath.Join(rootfs, "elsewhere"), 0o755)
	os.Symlink("/elsewhere", filepath.Join(rootfs, "link"))
	mounts := []specs.Mount{
		{Destination: "/proc", Type: "proc"},
		{Destination: "/dev", Type: "tmpfs"},
		{Destination: "/dev/pts", Type: "devpts"}, // on a tmpfs: CRIU's
		{Destination: "/sys/fs/cgroup", Type: "cgroup"},
		{Destination: "/data", Type: "bind", Source: src, Options: []string{"rbind"}},
		{Destination: "/data/nested/deep", Type: "tmpfs"},
		{Destination: "/ro", Type: "bind", Source: ro, Options: []string{"rbind", "ro"}},
		{Destination: "/ro/inner", Type: "tmpfs"},
		{Destination: "/etc/file", Source: "file", Options: []string{"bind"}},
		{Destination: "/link/x", Type: "tmpfs"},
	}
	before, _ := os.ReadFile("/proc/self/mountinfo")
	_, err := startInPrivateMounts(func() (*criu.Swrk, error) {
		return nil, prepareMountpoints(rootfs, dir, mounts)
	})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile("/proc/self/mountinfo")
	if string(before) != string(after) {
		t.Errorf("our mounts changed:\n%s", after)
	}
	for _, p := range []string{"rootfs/proc", "rootfs/dev", "rootfs/data", "src/nested/deep", "rootfs/ro", "rootfs/ro/inner", "rootfs/elsewhere/x"} {
		if st, err := os.Stat(filepath.Join(dir, p)); err != nil || !st.IsDir() {
			t.Errorf("%s: not a directory (%v)", p, err)
		}
	}
	if st, err := os.Stat(filepath.Join(rootfs, "etc/file")); err != nil || !st.Mode().IsRegular() {
		t.Errorf("file mount point: %v", err)
	}
	for _, p := range []string{"rootfs/dev/pts", "rootfs/sys", "rootfs/data/nested", "ro/inner"} {
		if _, err := os.Lstat(filepath.Join(dir, p)); err == nil {
			t.Errorf("%s made", p)
		}
	}
}

// startInPrivateMounts never leaves the process's main thread (what
// /proc/self names) in its namespace, whichever thread it starts on.
func TestPrivateMountsNotOnMainThread(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (a mount namespace)")
	}
	want, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Skip(err)
	}
	for i := 0; i < 50; i++ {
		var theirs string
		startInPrivateMounts(func() (*criu.Swrk, error) {
			theirs, _ = os.Readlink("/proc/thread-self/ns/mnt")
			return nil, nil
		})
		if theirs == want {
			t.Fatalf("run %d: not in a namespace of its own", i)
		}
		if got, _ := os.Readlink("/proc/self/ns/mnt"); got != want {
			t.Fatalf("run %d: the main thread is in %s now, not %s", i, got, want)
		}
	}
}

func TestStdioInherit(t *testing.T) {
	for _, tc := range []struct {
		stdio []string
		want  []stdioFd
	}{
		{[]string{"pipe:[10]", "pipe:[11]", "pipe:[11]"}, []stdioFd{{"pipe:[10]", 0, false}, {"pipe:[11]", 1, false}}},
		{[]string{"tty[8800:1a]", "tty[8800:1a]", "tty[8800:1a]"}, []stdioFd{{"tty[8800:1a]", 0, true}}},
		{[]string{"/dev/null", "pipe:[3]", "/dev/pts/0", "pipe:[4]"}, []stdioFd{{"pipe:[3]", 1, false}}},
		{nil, nil},
	} {
		if got := stdioInherit(tc.stdio); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("stdioInherit(%q) = %+v, want %+v", tc.stdio, got, tc.want)
		}
	}
}

// A terminal is handed to CRIU as a duplicate beyond its socket, never as
// fd 0 itself: CRIU closes what it inherits and --shell-job needs its stdin.
func TestInheritStdioTerminalDuplicated(t *testing.T) {
	r0, w0, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r0.Close()
	defer w0.Close()
	r := &restorer{o: &RestoreOpts{Stdin: r0, Stdout: w0, Stderr: w0}}
	defer func() {
		for _, f := range r.extra {
			f.Close()
		}
	}()
	opts := &rpc.CriuOpts{}
	if err := r.inheritStdio(opts, []string{"tty[8800:1a]", "pipe:[7]", "tty[8800:1a]"}); err != nil {
		t.Fatal(err)
	}
	if len(opts.InheritFd) != 2 || len(r.extra) != 1 {
		t.Fatalf("inherit %v, extra %d", opts.InheritFd, len(r.extra))
	}
	if k, fd := opts.InheritFd[0].GetKey(), opts.InheritFd[0].GetFd(); k != "tty[8800:1a]" || fd != 4 {
		t.Errorf("terminal: key %q fd %d, want tty[8800:1a] at 4", k, fd)
	}
	if k, fd := opts.InheritFd[1].GetKey(), opts.InheritFd[1].GetFd(); k != "pipe:[7]" || fd != 1 {
		t.Errorf("pipe: key %q fd %d, want pipe:[7] at 1", k, fd)
	}
	var a, b unix.Stat_t
	if err := unix.Fstat(int(r0.Fd()), &a); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fstat(int(r.extra[0].Fd()), &b); err != nil {
		t.Fatal(err)
	}
	if a.Ino != b.Ino || r.extra[0].Fd() == r0.Fd() {
		t.Errorf("extra fd %d is not a duplicate of stdin %d", r.extra[0].Fd(), r0.Fd())
	}
	r2 := &restorer{o: &RestoreOpts{}}
	if err := r2.inheritStdio(&rpc.CriuOpts{}, []string{"tty[1:2]"}); err == nil {
		t.Error("a terminal with no stdio to take its place: no error")
	}
}

func TestCheckDump(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, tc := range []struct {
		name string
		o    CriuOpts
		err  string
	}{
		{"defaults", CriuOpts{StatusFd: -1}, ""},
		{"lazy pages with a page server", CriuOpts{StatusFd: -1, LazyPages: true, PageServer: "127.0.0.1:27"}, ""},
		{"status fd for writing", CriuOpts{StatusFd: int(w.Fd()), LazyPages: true, PageServer: "127.0.0.1:27"}, ""},
		{"bad cgroup mode", CriuOpts{StatusFd: -1, ManageCgroupsMode: "sometimes"}, "sometimes"},
		{"bad empty ns", CriuOpts{StatusFd: -1, EmptyNs: []string{"nosuch"}}, "nosuch"},
		{"bad page server", CriuOpts{StatusFd: -1, PageServer: "nowhere"}, "nowhere"},
		{"lazy pages alone", CriuOpts{StatusFd: -1, LazyPages: true}, "--lazy-pages needs --page-server"},
		{"status fd alone", CriuOpts{StatusFd: int(w.Fd())}, "only used with --lazy-pages"},
		{"status fd read only", CriuOpts{StatusFd: int(r.Fd()), LazyPages: true, PageServer: "h:1"}, "not open for writing"},
		{"status fd closed", CriuOpts{StatusFd: 1 << 20, LazyPages: true, PageServer: "h:1"}, "invalid --status-fd"},
		{"absolute parent", CriuOpts{StatusFd: -1, ParentPath: "/prev"}, "relative to --image-path"},
	} {
		_, err := tc.o.checkDump()
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: checkDump = %v, want %q", tc.name, err, tc.err)
		}
	}
}

func TestDumpOpts(t *testing.T) {
	c := &Container{state: state.State{ID: "c", Rootfs: "/r", Resources: state.Resources{InitPid: 42}}}
	o := &CriuOpts{StatusFd: -1, ManageCgroupsMode: "strict", EmptyNs: []string{"network"}, PageServer: "10.0.0.1:99",
		LeaveRunning: true, TCPEstablished: true, FileLocks: true, ParentPath: "../pre", ShellJob: true}
	a, err := o.checkDump()
	if err != nil {
		t.Fatal(err)
	}
	opts := c.dumpOpts(o, a, 7)
	if opts.GetImagesDirFd() != 7 || opts.GetPid() != 42 || opts.GetRoot() != "/r" || opts.GetLogFile() != dumpLog {
		t.Errorf("the container's: %v", opts)
	}
	if opts.GetManageCgroupsMode() != rpc.CriuCgMode_STRICT || opts.GetEmptyNs() != unix.CLONE_NEWNET {
		t.Errorf("cgroup mode %v, empty ns %#x", opts.GetManageCgroupsMode(), opts.GetEmptyNs())
	}
	if !opts.GetLeaveRunning() || !opts.GetTcpEstablished() || !opts.GetFileLocks() || !opts.GetShellJob() ||
		opts.GetLazyPages() || opts.GetExtUnixSk() || !opts.GetOrphanPtsMaster() {
		t.Errorf("flags: %v", opts)
	}
	if opts.GetParentImg() != "../pre" || !opts.GetTrackMem() {
		t.Errorf("a parent dump is tracked: %v", opts)
	}
	if opts.GetPs().GetAddress() != "10.0.0.1" || opts.GetPs().GetPort() != 99 {
		t.Errorf("page server %v", opts.GetPs())
	}
	if o.ParentPath = ""; c.dumpOpts(o, a, 7).TrackMem != nil {
		t.Error("memory tracked without a parent")
	}
}

func TestCheckpointRefusesStopped(t *testing.T) {
	c := &Container{root: t.TempDir(), state: state.State{ID: "c"}}
	err := c.Checkpoint(&CriuOpts{StatusFd: -1})
	if err == nil || err.Error() != "checkpoint c: a stopped container cannot be checkpointed" {
		t.Errorf("Checkpoint of a stopped container: %v", err)
	}
}
