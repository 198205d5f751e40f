package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/system"
)

// WriteFile writes data to dir/file, a cgroup control file (which must
// exist: it is never created). The error names the file and the value.
func WriteFile(dir, file, data string) error {
	if dir == "" {
		return fmt.Errorf("write %s: no cgroup directory", file)
	}
	if err := Write(filepath.Join(dir, file), data, false); err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) && pe.Op == "open" {
			return fmt.Errorf("set %s: %w", file, pe.Err)
		}
		return fmt.Errorf("set %s to %q (in %s): %w", file, data, dir, unwrapPath(err))
	}
	return nil
}

// WriteEach writes values to one control file of dir, each in its own
// write(2) through one open: files such as devices.allow take one rule a
// write, and an open of a cgroup file costs more than a write. An error
// names the value that failed, as WriteFile does.
func WriteEach(dir, file string, values ...string) error {
	if dir == "" {
		return fmt.Errorf("write %s: no cgroup directory", file)
	}
	failed, err := writeChunks(filepath.Join(dir, file), values)
	if err == nil {
		return nil
	}
	if failed < 0 {
		return fmt.Errorf("set %s: %w", file, unwrapPath(err))
	}
	return fmt.Errorf("set %s to %q (in %s): %w", file, values[failed], dir, unwrapPath(err))
}

// Write writes data to the existing cgroup file path: in one write, or a
// write per line (lineByLine: files such as io.max take one entry a write).
// Errors are *os.PathError ("open" or "write").
func Write(path, data string, lineByLine bool) error {
	chunks := []string{data}
	if lineByLine {
		chunks = strings.SplitAfter(data, "\n")
		if len(chunks) > 1 && chunks[len(chunks)-1] == "" {
			chunks = chunks[:len(chunks)-1] // after the last newline
		}
	}
	_, err := writeChunks(path, chunks)
	return err
}

// writeChunks opens the existing file path once and writes each chunk in a
// write(2) of its own. Plain open(2)/write(2), each retried on EINTR:
// os.OpenFile would first try every file in Go's poller (two fcntl and an
// epoll_ctl that cgroupfs refuses). Errors are *os.PathError ("open" or
// "write"), with the index of the chunk that failed (-1: the open).
func writeChunks(path string, chunks []string) (int, error) {
	var fd int
	err := system.Retry(func() (err error) {
		fd, err = unix.Open(path, unix.O_WRONLY|unix.O_TRUNC|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	for i, c := range chunks {
		var n int
		err := system.Retry(func() (err error) {
			n, err = unix.Write(fd, []byte(c))
			return err
		})
		if err == nil && n < len(c) {
			err = io.ErrShortWrite
		}
		if err != nil {
			return i, &os.PathError{Op: "write", Path: path, Err: err}
		}
	}
	return 0, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// ReadFile returns dir/file's content.
func ReadFile(dir, file string) (string, error) {
	b, err := system.ReadFile(filepath.Join(dir, file))
	return string(b), err
}

// ParseUint parses a cgroup value; "max" and values that overflow (the
// kernel's "unlimited" is often 2^63-ish) become math.MaxUint64 as runc does.
func ParseUint(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	if s == "max" {
		return ^uint64(0), nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		// Negative values (-1) mean "unlimited" too.
		if i, ierr := strconv.ParseInt(s, 10, 64); ierr == nil && i < 0 {
			return 0, nil
		}
		return 0, fmt.Errorf("parse %q: %w", s, err)
	}
	return v, nil
}

// ReadUint reads a file holding one number.
func ReadUint(dir, file string) (uint64, error) {
	s, err := ReadFile(dir, file)
	if err != nil {
		return 0, err
	}
	v, err := ParseUint(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", file, err)
	}
	return v, nil
}

// ReadKeyValues reads "key value" lines (memory.stat, cpu.stat).
func ReadKeyValues(dir, file string) (map[string]uint64, error) {
	f, err := os.Open(filepath.Join(dir, file))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	res := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		if n, err := ParseUint(v); err == nil {
			res[k] = n
		}
	}
	return res, sc.Err()
}

// ReadProcs lists the pids in dir's cgroup.procs and, with recursive, in
// every cgroup below it.
func ReadProcs(dir string, recursive bool) ([]int, error) {
	var pids []int
	seen := map[int]bool{}
	var walk func(d string) error
	walk = func(d string) error {
		data, err := system.ReadFile(filepath.Join(d, "cgroup.procs"))
		if err != nil {
			return err
		}
		for _, l := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(l); err == nil && !seen[pid] {
				seen[pid] = true
				pids = append(pids, pid)
			}
		}
		if !recursive {
			return nil
		}
		ents, err := os.ReadDir(d)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if e.IsDir() {
				if err := walk(filepath.Join(d, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(dir); err != nil {
		return nil, fmt.Errorf("read processes of %s: %w", dir, err)
	}
	return pids, nil
}

// WriteProc moves pid into dir's cgroup.
func WriteProc(dir string, pid int) error {
	if err := WriteFile(dir, "cgroup.procs", strconv.Itoa(pid)); err != nil {
		return fmt.Errorf("join cgroup %s: %w", dir, err)
	}
	return nil
}

// RemovePath removes the cgroup dir and every cgroup below it, leaf first.
// rmdir fails with EBUSY while processes are still leaving (a killed
// process stays in its cgroup until it is reaped), so that is retried
// briefly with a growing back-off.
func RemovePath(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("remove cgroup %s: %w", dir, err)
	}
	for _, e := range ents {
		if e.IsDir() {
			if err := RemovePath(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	delay := 100 * time.Microsecond
	deadline := time.Now().Add(3 * time.Second)
	for {
		err := unix.Rmdir(dir)
		switch {
		case err == nil || errors.Is(err, unix.ENOENT):
			return nil
		case errors.Is(err, unix.EBUSY) && time.Now().Before(deadline):
			time.Sleep(delay)
			delay = min(delay*2, 50*time.Millisecond)
		case errors.Is(err, unix.EINTR):
		default:
			return fmt.Errorf("remove cgroup %s: %w", dir, err)
		}
	}
}

// ParseHugePageSize turns "hugepages-2048kB" (a /sys/kernel/mm/hugepages
// entry) into the "2MB" cgroup files and the spec use.
func ParseHugePageSize(dirName string) (string, error) {
	s := strings.TrimSuffix(strings.TrimPrefix(dirName, "hugepages-"), "kB")
	kb, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return "", fmt.Errorf("bad huge page size %q", dirName)
	}
	units := []string{"KB", "MB", "GB", "TB", "PB"}
	i := 0
	for kb >= 1024 && kb%1024 == 0 && i < len(units)-1 {
		kb /= 1024
		i++
	}
	return strconv.FormatUint(kb, 10) + units[i], nil
}

// HugePageSizes lists the host's huge page sizes ("2MB", "1GB").
func HugePageSizes() []string {
	ents, err := os.ReadDir("/sys/kernel/mm/hugepages")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if s, err := ParseHugePageSize(e.Name()); err == nil {
			out = append(out, s)
		}
	}
	return out
}
