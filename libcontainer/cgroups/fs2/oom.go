package fs2

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/cgroups"
)

var _ cgroups.OOMNotifier = (*Manager)(nil)

// OOMEvents sends one value per OOM kill in the cgroup: the kernel reports
// each change of memory.events as a modification (inotify), and an
// increase of its oom_kill counter is a kill. The channel closes when stop
// is closed or memory.events can no longer be read (the cgroup is gone).
func (m *Manager) OOMEvents(stop <-chan struct{}) (<-chan struct{}, error) {
	file := filepath.Join(m.dir, "memory.events")
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("oom events: inotify: %w", err)
	}
	// Through os.File the read waits in the runtime poller, and Close
	// wakes it.
	ino := os.NewFile(uintptr(fd), "inotify")
	if _, err := unix.InotifyAddWatch(fd, file, unix.IN_MODIFY); err != nil {
		ino.Close()
		if errors.Is(err, unix.ENOENT) {
			return nil, fmt.Errorf("oom events: no %s (memory controller not enabled)", file)
		}
		return nil, fmt.Errorf("oom events: watch %s: %w", file, err)
	}
	ev, err := readKV(file)
	if err != nil {
		ino.Close()
		return nil, fmt.Errorf("oom events: %w", err)
	}
	seen := ev["oom_kill"]
	ch := make(chan struct{}, 16)
	finished := make(chan struct{})
	go func() {
		defer close(ch)
		defer close(finished)
		buf := make([]byte, 4096)
		for {
			if _, err := ino.Read(buf); err != nil {
				return
			}
			ev, err := readKV(file)
			if err != nil {
				return
			}
			for ; seen < ev["oom_kill"]; seen++ {
				select {
				case ch <- struct{}{}:
				case <-stop:
					return
				}
			}
		}
	}()
	go func() {
		select {
		case <-stop:
		case <-finished:
		}
		ino.Close()
	}()
	return ch, nil
}
