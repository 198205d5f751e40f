package system

import (
	"bytes"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// StartTime returns field 22 of /proc/<pid>/stat, the process's start time
// in clock ticks since boot. Together with the pid it names one process for
// good: a recycled pid has a different start time.
func StartTime(pid int) (uint64, error) {
	_, start, err := procStat(pid)
	return start, err
}

// ProcessState returns the one-letter state of pid (R, S, Z, ...).
func ProcessState(pid int) (byte, error) {
	state, _, err := procStat(pid)
	return state, err
}

// procStat reads /proc/<pid>/stat once: the state letter and the start time.
func procStat(pid int) (state byte, start uint64, err error) {
	data, err := ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	return parseStat(data)
}

func parseStat(stat []byte) (state byte, start uint64, err error) {
	// comm (field 2) may hold spaces and parentheses: split after the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("malformed stat line")
	}
	fields := bytes.Fields(stat[i+1:])
	// fields[0] is field 3 (state); start time is field 22.
	if len(fields) < 20 || len(fields[0]) != 1 {
		return 0, 0, fmt.Errorf("malformed stat line")
	}
	start, err = strconv.ParseUint(string(fields[19]), 10, 64)
	return fields[0][0], start, err
}

// PidFD opens a pidfd for pid and checks that it still names the process
// that started at startTime, so a recycled pid is never signalled. It
// returns ESRCH when that process is gone (a zombie counts as gone).
func PidFD(pid int, startTime uint64) (int, error) {
	if pid <= 0 {
		return -1, unix.ESRCH
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return -1, err
	}
	// The pidfd pins the pid, so checking after opening is race-free.
	s, st, err := procStat(pid)
	if err != nil || st != startTime || s == 'Z' || s == 'X' {
		unix.Close(fd)
		return -1, unix.ESRCH
	}
	return fd, nil
}

// WaitPidFD blocks until the process behind a pidfd has exited.
func WaitPidFD(fd int) error {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	return Retry(func() error { _, err := unix.Poll(fds, -1); return err })
}

// CloseExecFrom marks every fd >= minFd close-on-exec, so nothing of the
// runtime leaks into the container's process.
func CloseExecFrom(minFd int) error {
	err := unix.CloseRange(uint(minFd), ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	if err == nil {
		return nil
	}
	// Kernels before 5.11: walk /proc/self/fd.
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, n := range names {
		fd, err := strconv.Atoi(n)
		if err != nil || fd < minFd || fd == int(d.Fd()) {
			continue
		}
		unix.CloseOnExec(fd)
	}
	return nil
}
