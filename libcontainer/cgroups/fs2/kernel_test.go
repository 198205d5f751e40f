package fs2

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/cgroups"
)

// These tests drive the real kernel. They run only as root on a pure
// cgroup v2 host (make test-cgroupv2 runs them in a QEMU guest) and skip
// elsewhere: on a v1 or hybrid host /sys/fs/cgroup is not cgroup2 and is
// never touched.
func kernelRoot(t *testing.T) string {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
		t.Skip("not a cgroup v2 (unified) host")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	return "/sys/fs/cgroup"
}

// kernelManager makes a manager for a fresh nested cgroup (so ancestor
// controller enabling is exercised) and removes it all at the end.
func kernelManager(t *testing.T, res *specs.LinuxResources) *Manager {
	root := kernelRoot(t)
	top := fmt.Sprintf("/teu-fs2-test-%d", os.Getpid())
	m, err := NewManager(root, top+"/"+strings.ReplaceAll(t.Name(), "/", "_"), &cgroups.Config{Resources: res})
	must(t, err)
	t.Cleanup(func() {
		if err := m.Destroy(); err != nil {
			t.Errorf("Destroy: %v", err)
		}
		if m.Exists() {
			t.Error("cgroup still there after Destroy")
		}
		unix.Rmdir(filepath.Join(root, top)) // fails while sibling tests run: fine
	})
	must(t, m.Apply(-1))
	if res != nil {
		must(t, m.Set(res))
	}
	return m
}

// startIn starts argv directly inside the cgroup (CLONE_INTO_CGROUP).
func startIn(t *testing.T, m *Manager, argv ...string) *exec.Cmd {
	t.Helper()
	fd, err := unix.Open(m.Path(), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	must(t, err)
	defer unix.Close(fd)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	must(t, cmd.Start())
	return cmd
}

func runIn(t *testing.T, m *Manager, script string) (string, error) {
	t.Helper()
	fd, err := unix.Open(m.Path(), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	must(t, err)
	defer unix.Close(fd)
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestKernelLimits(t *testing.T) {
	res := &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: i64(64 << 20), Swap: i64(64 << 20)},
		Pids:    &specs.LinuxPids{Limit: i64(20)},
		CPU:     &specs.LinuxCPU{Shares: u64(2048), Quota: i64(50000), Period: u64(100000), Cpus: "0", Mems: "0"},
		Unified: map[string]string{"memory.high": "60000000", "memory.oom.group": "1"},
	}
	m := kernelManager(t, res)
	want := map[string]string{
		"memory.max": "67108864", "memory.swap.max": "0", "pids.max": "20", "cpu.max": "50000 100000",
		"cpu.weight": fmt.Sprint(CPUWeight(2048)), "cpuset.cpus": "0", "cpuset.mems": "0",
		"memory.high":      "59998208", // rounded down to pages by the kernel
		"memory.oom.group": "1",
	}
	for f, w := range want {
		got, err := readFile(filepath.Join(m.Path(), f))
		if err != nil || got != w {
			t.Errorf("%s = %q (%v), want %q", f, got, err, w)
		}
	}

	sleeper := startIn(t, m, "sleep", "1000")
	pids, err := m.Pids()
	must(t, err)
	if !slices.Contains(pids, sleeper.Process.Pid) {
		t.Errorf("Pids %v lacks %d", pids, sleeper.Process.Pid)
	}
	u, err := m.Usage()
	must(t, err)
	if u.Pids.Current < 1 || u.Pids.Limit != 20 || u.Memory.Usage.Limit != 64<<20 {
		t.Errorf("usage: pids %+v, memory limit %d", u.Pids, u.Memory.Usage.Limit)
	}

	// pids.max: a fork bomb stops at the limit.
	out, err := runIn(t, m, "for i in $(seq 40); do sleep 1 & done; wait")
	if err == nil && !strings.Contains(out, "fork") && !strings.Contains(out, "resource") {
		ev, _ := readKV(filepath.Join(m.Path(), "pids.events"))
		if ev["max"] == 0 {
			t.Errorf("40 forks under pids.max 20 all succeeded: %q", out)
		}
	}

	// Freeze stops the sleeper; Thaw resumes it.
	must(t, m.Freeze())
	if st, _ := m.FreezerState(); st != cgroups.Frozen {
		t.Errorf("state %s", st)
	}
	ev, _ := readEvents(m.Path())
	if ev["frozen"] != "1" {
		t.Errorf("cgroup.events %v after Freeze", ev)
	}
	must(t, m.Thaw())
	if st, _ := m.FreezerState(); st != cgroups.Thawed {
		t.Errorf("state %s", st)
	}

	// Destroy (in Cleanup) must kill the sleeper through cgroup.kill.
	must(t, m.Signal(unix.SIGKILL))
	err = sleeper.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != unix.SIGKILL {
		t.Errorf("sleeper: %v", err)
	}
}

func TestKernelOOM(t *testing.T) {
	m := kernelManager(t, &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(16 << 20), Swap: i64(16 << 20)}})
	stop := make(chan struct{})
	defer close(stop)
	ooms, err := m.OOMEvents(stop)
	must(t, err)
	// tail buffers its input looking for a newline /dev/zero never has.
	_, err = runIn(t, m, "exec tail /dev/zero")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != unix.SIGKILL {
		t.Fatalf("tail /dev/zero under memory.max: %v", err)
	}
	u, err := m.Usage()
	must(t, err)
	if u.Memory.OOMKill < 1 {
		t.Errorf("memory.events oom_kill = %d", u.Memory.OOMKill)
	}
	select {
	case <-ooms:
	case <-time.After(10 * time.Second):
		t.Error("no OOM event")
	}
}

func TestKernelDevices(t *testing.T) {
	m := kernelManager(t, nil)
	deny := []specs.LinuxDeviceCgroup{
		dev(false, "a", -1, -1, "rwm"),
		dev(true, "c", 1, 5, "rwm"), // /dev/zero
		dev(true, "c", 1, 9, "r"),   // /dev/urandom, read only
	}
	must(t, m.Set(&specs.LinuxResources{Devices: deny}))
	for _, c := range []struct {
		script string
		ok     bool
	}{
		{"echo x > /dev/null", false},
		{"head -c 1 /dev/zero >/dev/zero", true}, // both ends are /dev/zero
		{"head -c 1 /dev/urandom >/dev/zero", true},
		{"echo x >/dev/urandom", false},
	} {
		out, err := runIn(t, m, c.script)
		if (err == nil) != c.ok {
			t.Errorf("%q: err %v, want ok=%v: %s", c.script, err, c.ok, out)
		}
		if !c.ok && !strings.Contains(out, "not permitted") {
			t.Errorf("%q: %q, want EPERM", c.script, out)
		}
	}
	// An update replaces the program: /dev/null becomes usable and only
	// one program stays attached.
	must(t, m.Set(&specs.LinuxResources{Devices: append(deny, dev(true, "c", 1, 3, "rw"))}))
	if out, err := runIn(t, m, "echo x > /dev/null"); err != nil {
		t.Errorf("/dev/null after update: %v %s", err, out)
	}
	cg, err := unix.Open(m.Path(), unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	must(t, err)
	defer unix.Close(cg)
	fds, err := attachedPrograms(cg)
	must(t, err)
	for _, fd := range fds {
		unix.Close(fd)
	}
	if len(fds) != 1 {
		t.Errorf("%d device programs attached after update, want 1", len(fds))
	}
}
