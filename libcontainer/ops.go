package libcontainer

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/hooks"
	"github.com/teu-runtime/teu/libcontainer/hostmnt"
	"github.com/teu-runtime/teu/libcontainer/plan"
	"github.com/teu-runtime/teu/libcontainer/state"
	"github.com/teu-runtime/teu/libcontainer/system"
)

// Start releases a created container's init to exec the user's process,
// then runs the poststart hooks.
func (c *Container) Start() error {
	if st := c.Status(); st != Created {
		return fmt.Errorf("cannot start container %s: it is %s, not created", c.ID(), st)
	}
	// The pidfd first: opening the fifo releases the init, whose process
	// may be done and gone before we look again.
	pidfd, err := system.PidFD(c.state.InitPid, c.state.InitStartTime)
	if err != nil {
		return fmt.Errorf("container init is gone: %w", err)
	}
	defer unix.Close(pidfd)
	fifo, err := os.OpenFile(c.dir.File(state.FifoFile), os.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open exec fifo: %w", err)
	}
	defer fifo.Close()
	// Wait for the init's byte or its death, whichever comes first.
	fds := []unix.PollFd{{Fd: int32(fifo.Fd()), Events: unix.POLLIN}, {Fd: int32(pidfd), Events: unix.POLLIN}}
	if err := system.Retry(func() error { _, err := unix.Poll(fds, -1); return err }); err != nil {
		return fmt.Errorf("wait for init: %w", err)
	}
	if fds[0].Revents&unix.POLLIN == 0 {
		return errors.New("container init exited before it was started")
	}
	buf := make([]byte, 1)
	if n, err := fifo.Read(buf); n != 1 {
		return fmt.Errorf("read exec fifo: %v", err)
	}
	// The init keeps the fifo open until its execve closes it (the fd is
	// close-on-exec): EOF means the user's process runs, so poststart hooks
	// run after it, and anything written is why the init failed instead
	// (a startContainer hook, the exec itself).
	failure, _ := io.ReadAll(fifo)
	if err := os.Remove(c.dir.File(state.FifoFile)); err != nil {
		return fmt.Errorf("remove exec fifo: %w", err)
	}
	if len(failure) > 0 {
		if e, ok := plan.DecodeLateError(failure); ok {
			if strings.HasPrefix(e.Desc, "exec ") {
				return fmt.Errorf("start %s: %w", c.ID(), &ExecFailed{e})
			}
			return fmt.Errorf("start %s: %w", c.ID(), e)
		}
		return fmt.Errorf("start %s: container init failed", c.ID())
	}
	spec, err := c.hooksAndNamespaces()
	if err != nil {
		return err
	}
	if spec.Hooks != nil && len(spec.Hooks.Poststart) > 0 {
		st := c.OCIState()
		// The process has been executed; it may already be done, but the
		// hook still learns which one it was.
		st.Status, st.Pid = specs.StateRunning, c.state.InitPid
		if err := hooks.Run("poststart", spec.Hooks.Poststart, &st); err != nil {
			// runtime-spec 1.3: a failed poststart hook stops the container.
			c.kill(unix.SIGKILL)
			return err
		}
	}
	return nil
}

// ParseSignal accepts "KILL", "SIGKILL", "kill" or "9".
func ParseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		// 0 asks only whether the init is there, as kill(2) does.
		if n < 0 || n > 64 {
			return 0, fmt.Errorf("invalid signal %q", s)
		}
		return unix.Signal(n), nil
	}
	name := s
	if len(name) < 3 || !(name[:3] == "SIG" || name[:3] == "sig") {
		name = "SIG" + name
	}
	sig := unix.SignalNum(upper(name))
	if sig == 0 {
		return 0, fmt.Errorf("unknown signal %q", s)
	}
	return sig, nil
}

func upper(s string) string {
	b := []byte(s)
	for i, ch := range b {
		if 'a' <= ch && ch <= 'z' {
			b[i] = ch - 'a' + 'A'
		}
	}
	return string(b)
}

// Signal sends sig to the container's init, or with all to every process
// of the container.
func (c *Container) Signal(sig unix.Signal, all bool) error {
	st := c.Status()
	// Without a pid namespace of its own, killing the init does not take
	// the container's other processes with it: SIGKILL goes to every
	// process in its cgroup, as with runc, also when the init is gone.
	if sig == unix.SIGKILL {
		if spec, err := c.hooksAndNamespaces(); err == nil && !hasNewNs(spec, specs.PIDNamespace) {
			if m, err := c.cgroupManager(); err == nil && m.Exists() {
				if err := m.Signal(sig); err != nil {
					return fmt.Errorf("kill the container's processes: %w", err)
				}
				return nil
			}
		}
	}
	if st == Stopped {
		if all {
			return nil // nothing left to signal (runc's kill --all)
		}
		return errors.New("container not running")
	}
	if all {
		return c.signalAll(sig)
	}
	if err := c.kill(sig); err != nil {
		return err
	}
	// A frozen init dies only once thawed (cgroup v1), and would then take
	// its namespace with it: SIGKILL ends a paused container, as with runc.
	if sig == unix.SIGKILL && st == Paused {
		m, err := c.cgroupManager()
		if err == nil {
			err = m.Thaw()
		}
		if err != nil {
			return fmt.Errorf("thaw after SIGKILL: %w", err)
		}
	}
	return nil
}

func (c *Container) kill(sig unix.Signal) error {
	fd, err := system.PidFD(c.state.InitPid, c.state.InitStartTime)
	if err != nil {
		return errors.New("container not running")
	}
	defer unix.Close(fd)
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		return fmt.Errorf("signal init: %w", err)
	}
	return nil
}

// signalAll signals every process in the container's pid namespace. The
// init goes last, so that SIGKILL to it does not race the others' delivery.
func (c *Container) signalAll(sig unix.Signal) error {
	// The cgroup holds every process of the container, whatever its pid
	// namespace; the driver freezes it while signalling.
	if m, err := c.cgroupManager(); err == nil && m.Exists() {
		return m.Signal(sig)
	}
	spec, err := c.hooksAndNamespaces()
	if err != nil {
		return err
	}
	if !hasNewNs(spec, specs.PIDNamespace) {
		return errors.New("kill --all needs the container's own pid namespace (or its cgroup)")
	}
	initNs, err := os.Readlink("/proc/" + strconv.Itoa(c.state.InitPid) + "/ns/pid")
	if err != nil {
		return errors.New("container not running")
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return err
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == c.state.InitPid {
			continue
		}
		if ns, err := os.Readlink("/proc/" + e.Name() + "/ns/pid"); err == nil && ns == initNs {
			if fd, err := unix.PidfdOpen(pid, 0); err == nil {
				// Re-check through the pidfd's pid: it cannot be recycled now.
				if ns2, err := os.Readlink("/proc/" + e.Name() + "/ns/pid"); err == nil && ns2 == initNs {
					unix.PidfdSendSignal(fd, sig, nil, 0)
				}
				unix.Close(fd)
			}
		}
	}
	return c.kill(sig)
}

// Delete removes a stopped (or, with force, any) container: its processes
// are killed and waited for, then what it holds goes in the reverse order
// of create (the mounts it made in our namespace, its cgroup), the poststop
// hooks run, and its state goes last, only once all it records is gone: a
// delete that cannot remove something keeps the state for another try.
func (c *Container) Delete(force bool) error {
	st := c.Status()
	if st != Stopped {
		// runtime-spec "delete": a container that is not stopped MUST
		// NOT be deleted, a created one included (runc and crun delete
		// that one anyway; engines kill first or pass --force).
		if !force {
			return fmt.Errorf("cannot delete container %s that is not stopped: %s (kill it first, or use --force)", c.ID(), st)
		}
		c.killAndWait()
	}
	var errs []error
	if err := c.waitExecutor(); err != nil {
		errs = append(errs, err)
	}
	if err := c.unmountHost(); err != nil {
		errs = append(errs, err)
	}
	if err := c.destroyCgroup(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("delete %s: %w; its state is kept in %s for delete --force to try again",
			c.ID(), errors.Join(errs...), c.stateDirPath())
	}
	if spec, err := c.hooksAndNamespaces(); err == nil && spec.Hooks != nil && len(spec.Hooks.Poststop) > 0 {
		s := c.OCIState()
		s.Status = specs.StateStopped
		for _, err := range hooks.RunAll("poststop", spec.Hooks.Poststop, &s) {
			slog.Warn("poststop hook failed", "id", c.ID(), "error", err)
		}
	}
	if err := c.dir.Remove(); err != nil {
		return fmt.Errorf("remove state dir: %w", err)
	}
	return nil
}

// DeleteForce is delete --force: Delete(true) of the container id, and
// no error if there is none. A container whose state.json is damaged
// (state.Damaged) is deleted by what its resources.json records; without
// that record nothing is deleted and the error says so.
func DeleteForce(root, id string) error {
	if err := state.ValidateID(id); err != nil {
		return err
	}
	d, err := state.Open(root, id)
	if errors.Is(err, state.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer d.Unlock()
	st, _, err := state.Read(d.Path(), id)
	var dmg *state.Damaged
	if errors.As(err, &dmg) {
		var ok bool
		if st, ok = dmg.Recovered(); !ok {
			return dmg
		}
		slog.Warn("state cannot be read; deleting what "+state.ResourcesFile+" records", "id", id, "file", dmg.Path, "error", dmg.Err)
	} else if err != nil {
		return err
	}
	c := &Container{root: root, dir: d, state: st}
	return c.Delete(true)
}

// ExecFailed: the execve of the container's process failed. runc's init
// prints this alone on the container's stderr ("exec /run.sh: no such file
// or directory"), and so does teu's CLI.
type ExecFailed struct{ plan.LateError }

func (e *ExecFailed) Error() string { return e.LateError.Error() }

// executorWait bounds how long delete waits for a killed create's
// executor, which exits as soon as its child does (waitExecutor).
const executorWait = 10 * time.Second

// waitExecutor waits for the executor of a killed create (ExecPid): it
// exits once its child is gone, which dies at its next read from the
// create that is no more. So when it is gone, so is an init create had not
// recorded yet.
func (c *Container) waitExecutor() error {
	fd, err := system.PidFD(c.state.ExecPid, c.state.ExecStartTime)
	if err != nil {
		return nil
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	var n int
	err = system.Retry(func() error { n, err = unix.Poll(fds, int(executorWait/time.Millisecond)); return err })
	if err == nil && n > 0 {
		return nil
	}
	unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
	system.WaitPidFD(fd)
	return fmt.Errorf("create's process %d did not exit within %v; killed it, its child may be left", c.state.ExecPid, executorWait)
}

// unmountHost detaches the mounts create made in our mount namespace:
// those recorded, or, while create had not recorded them yet, every mount
// under the rootfs that was not there before it.
func (c *Container) unmountHost() error {
	ids := c.state.HostMounts
	if c.state.MountsPending {
		before := make(map[int]bool, len(c.state.MountsBefore))
		for _, id := range c.state.MountsBefore {
			before[id] = true
		}
		var err error
		if ids, err = hostmnt.NewUnder(c.state.Rootfs, before); err != nil {
			return err
		}
	}
	return hostmnt.Unmount(c.state.Rootfs, ids)
}

// killAndWait SIGKILLs the init and waits for it on a pidfd: no polling.
func (c *Container) killAndWait() {
	fd, err := system.PidFD(c.state.InitPid, c.state.InitStartTime)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	// A lazy checkpoint's CRIU holds the processes (ptrace): they cannot
	// die, nor the pid namespace's init be reaped, until it lets go. Ending
	// it ends that migration, as delete --force means to.
	if cfd, err := system.PidFD(c.state.CriuPid, c.state.CriuStartTime); err == nil {
		unix.PidfdSendSignal(cfd, unix.SIGKILL, nil, 0)
		system.WaitPidFD(cfd)
		unix.Close(cfd)
	}
	spec, _ := c.hooksAndNamespaces()
	if spec != nil && hasNewNs(spec, specs.PIDNamespace) {
		// The kernel kills every process of the namespace with its init,
		// and the init's pidfd turns readable only once they are all
		// gone: no freezing needed. Frozen processes die once thawed.
		// (Anything else put in the cgroup goes in destroyCgroup.)
		unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
		if c.frozen() {
			if m, err := c.cgroupManager(); err == nil {
				m.Thaw()
			}
		}
	} else if m, err := c.cgroupManager(); err == nil && m.Exists() {
		m.Signal(unix.SIGKILL)
		unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
	} else {
		c.signalAll(unix.SIGKILL)
		unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
	}
	system.WaitPidFD(fd)
}

// RemoveStale removes the state directory of a container whose create died
// before writing any state.
func RemoveStale(root, id string) error {
	if err := state.ValidateID(id); err != nil {
		return err
	}
	d, err := state.Open(root, id)
	if err != nil {
		return err
	}
	return d.Remove()
}
