package fs2

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/cgroups"
)

// freezeTimeout bounds how long Freeze waits for the kernel to report the
// cgroup frozen (a task stuck in an uninterruptible sleep delays it).
const freezeTimeout = 10 * time.Second

// Freeze stops every process in the cgroup and returns once the kernel
// reports the cgroup frozen. On failure the cgroup is thawed again.
func (m *Manager) Freeze() error {
	return m.setFreeze("1", "frozen", "1")
}

// Thaw resumes the cgroup's processes.
func (m *Manager) Thaw() error {
	return m.setFreeze("0", "frozen", "0")
}

func (m *Manager) setFreeze(v, key, want string) error {
	if err := writeFile(filepath.Join(m.dir, "cgroup.freeze"), v); err != nil {
		return fmt.Errorf("write cgroup.freeze=%s: %w", v, err)
	}
	if err := waitEvent(m.dir, key, want, freezeTimeout); err != nil {
		if v == "1" {
			_ = writeFile(filepath.Join(m.dir, "cgroup.freeze"), "0")
		}
		return fmt.Errorf("wait for cgroup %s %s: %w", key, want, err)
	}
	return nil
}

// FreezerState is Frozen when the cgroup was asked to freeze
// (cgroup.freeze 1); Freeze only returns once that took effect.
func (m *Manager) FreezerState() (cgroups.FreezerState, error) {
	v, err := readFile(filepath.Join(m.dir, "cgroup.freeze"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return cgroups.Thawed, nil // the cgroup is gone or has no freezer
		}
		return "", fmt.Errorf("read cgroup.freeze: %w", err)
	}
	if v == "1" {
		return cgroups.Frozen, nil
	}
	return cgroups.Thawed, nil
}

// readEvents parses cgroup.events ("populated 1\nfrozen 0\n").
func readEvents(dir string) (map[string]string, error) {
	f, err := os.Open(filepath.Join(dir, "cgroup.events"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ev := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), " "); ok {
			ev[k] = v
		}
	}
	return ev, s.Err()
}

// waitEvent waits until cgroup.events has key == want. The kernel signals
// every change of cgroup.events as a modification (kernfs_notify), so this
// sleeps on inotify rather than polling the file.
func waitEvent(dir, key, want string, timeout time.Duration) error {
	ino, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return fmt.Errorf("inotify: %w", err)
	}
	defer unix.Close(ino)
	file := filepath.Join(dir, "cgroup.events")
	if _, err := unix.InotifyAddWatch(ino, file, unix.IN_MODIFY); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return os.ErrNotExist
		}
		return fmt.Errorf("watch %s: %w", file, err)
	}
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 4096)
	for {
		// Read after the watch is set, so no change can slip between.
		ev, err := readEvents(dir)
		if err != nil {
			return err
		}
		got, ok := ev[key]
		if !ok {
			return fmt.Errorf("%s has no %q", file, key)
		}
		if got == want {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("timed out after %s (%s is %s)", timeout, key, got)
		}
		fds := []unix.PollFd{{Fd: int32(ino), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, int(left/time.Millisecond)+1); err != nil && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("poll inotify: %w", err)
		}
		for { // drain
			if n, err := unix.Read(ino, buf); n <= 0 || err != nil {
				break
			}
		}
	}
}
