// Command recvpidfd is the engine's end of a pidfd socket, for tests: it
// listens on a unix socket, receives one fd over SCM_RIGHTS (as
// `teu create|run|exec --pidfd-socket` sends it), checks that it is a pidfd
// and prints the message body and the pid the kernel says it refers to:
//
//	kind=standard pid=1234
//
// Then, with -go, it waits for FILE to exist; with -signal N it sends
// signal N through the pidfd (pidfd_send_signal) and prints "signalled";
// with -wait it polls the pidfd until the process exits and prints "exited".
//
//	recvpidfd [-ready FILE] [-go FILE] [-signal N] [-wait] SOCKET
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	ready := flag.String("ready", "", "create this file once listening")
	goFile := flag.String("go", "", "wait for this file to exist before signalling")
	sig := flag.Int("signal", 0, "send this signal through the pidfd")
	wait := flag.Bool("wait", false, "wait for the process to exit")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: recvpidfd [-ready FILE] [-go FILE] [-signal N] [-wait] SOCKET")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *ready, *goFile, *sig, *wait); err != nil {
		fmt.Fprintln(os.Stderr, "recvpidfd:", err)
		os.Exit(1)
	}
}

func run(path, ready, goFile string, sig int, wait bool) error {
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return err
	}
	defer l.Close()
	if ready != "" {
		if err := os.WriteFile(ready, nil, 0o644); err != nil {
			return err
		}
	}
	conn, err := l.AcceptUnix()
	if err != nil {
		return err
	}
	defer conn.Close()
	body := make([]byte, 64)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := conn.ReadMsgUnix(body, oob)
	if err != nil {
		return fmt.Errorf("receive: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return errors.New("no fd received")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return fmt.Errorf("want one fd, got %d", len(fds))
	}
	fd := fds[0]
	defer unix.Close(fd)
	// A pidfd is an anonymous inode of its own kind, and its fdinfo names
	// the pid (as our pid namespace sees it).
	link, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return err
	}
	if link != "anon_inode:[pidfd]" {
		return fmt.Errorf("received fd is %s, not a pidfd", link)
	}
	pid, err := fdinfoPid(fd)
	if err != nil {
		return err
	}
	fmt.Printf("kind=%s pid=%d\n", body[:n], pid)
	if goFile != "" {
		if err := waitFile(goFile, 20*time.Second); err != nil {
			return err
		}
	}
	if sig != 0 {
		if err := unix.PidfdSendSignal(fd, unix.Signal(sig), nil, 0); err != nil {
			return fmt.Errorf("pidfd_send_signal: %w", err)
		}
		fmt.Println("signalled")
	}
	if wait {
		// A pidfd polls readable once its process has exited.
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			n, err := unix.Poll(fds, 20000)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				return fmt.Errorf("poll pidfd: %w", err)
			}
			if n == 0 {
				return errors.New("process did not exit within 20s")
			}
			break
		}
		fmt.Println("exited")
	}
	return nil
}

func fdinfoPid(fd int) (int, error) {
	f, err := os.Open("/proc/self/fdinfo/" + strconv.Itoa(fd))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "Pid:"); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, errors.New("no Pid: line in the fd's fdinfo")
}

// waitFile polls for path, bounded by timeout.
func waitFile(path string, timeout time.Duration) error {
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
	}
	return fmt.Errorf("%s did not appear", path)
}
