package fs1

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// OOMEvents registers an eventfd for memory.oom_control through
// cgroup.event_control: the kernel signals it on every OOM in the cgroup,
// and once more when the cgroup is removed. Nothing is polled.
func (m *Manager) OOMEvents(stop <-chan struct{}) (<-chan struct{}, error) {
	dir := m.paths["memory"]
	if dir == "" {
		return nil, errors.New("oom events: the memory cgroup controller is not mounted")
	}
	oomCtl, err := os.Open(filepath.Join(dir, "memory.oom_control"))
	if err != nil {
		return nil, fmt.Errorf("oom events: %w", err)
	}
	// Non-blocking, so the runtime poller waits on it and Close wakes a
	// pending Read.
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		oomCtl.Close()
		return nil, fmt.Errorf("oom events: eventfd: %w", err)
	}
	ev := os.NewFile(uintptr(efd), "oom-eventfd")
	reg := strconv.Itoa(efd) + " " + strconv.Itoa(int(oomCtl.Fd()))
	if err := writeFile(dir, "cgroup.event_control", reg); err != nil {
		ev.Close()
		oomCtl.Close()
		return nil, fmt.Errorf("oom events: %w", err)
	}
	ch := make(chan struct{}, 16)
	finished := make(chan struct{})
	go func() {
		defer close(ch)
		defer close(finished)
		defer oomCtl.Close()
		defer ev.Close()
		buf := make([]byte, 8)
		for {
			if _, err := ev.Read(buf); err != nil {
				return
			}
			// The same wake-up comes when the cgroup is removed.
			if _, err := os.Stat(filepath.Join(dir, "cgroup.event_control")); err != nil {
				return
			}
			select {
			case ch <- struct{}{}:
			case <-stop:
				return
			}
		}
	}()
	go func() {
		select {
		case <-stop:
			ev.Close()
		case <-finished:
		}
	}()
	return ch, nil
}
