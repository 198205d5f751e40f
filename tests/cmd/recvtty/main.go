// Command recvtty is the engine's end of a console socket, for tests: it
// listens on a unix socket, receives one pty master over SCM_RIGHTS (as
// `teu create --console-socket` sends it), writes -input to it, and copies
// everything the container writes to stdout until the pty is closed.
//
//	recvtty [-ready FILE] [-input TEXT] SOCKET
//
// FILE is created once the socket listens; the name the runtime sent with
// the fd is printed to stderr.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/teu-runtime/teu/libcontainer/console"
)

func main() {
	ready := flag.String("ready", "", "create this file once listening")
	input := flag.String("input", "", "write this to the pty master")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: recvtty [-ready FILE] [-input TEXT] SOCKET")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *ready, *input); err != nil {
		fmt.Fprintln(os.Stderr, "recvtty:", err)
		os.Exit(1)
	}
}

func run(path, ready, input string) error {
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
	f, err := conn.File()
	conn.Close()
	if err != nil {
		return err
	}
	defer f.Close()
	master, err := console.RecvFd(f)
	if err != nil {
		return fmt.Errorf("receive pty master: %w", err)
	}
	defer master.Close()
	fmt.Fprintf(os.Stderr, "recvtty: got %s\n", master.Name())
	if !console.IsTerminal(master) {
		return errors.New("received fd is not a terminal")
	}
	if input != "" {
		if _, err := master.WriteString(input); err != nil {
			return fmt.Errorf("write to pty: %w", err)
		}
	}
	// The master reads EIO once the last holder of the peer is gone.
	n, err := io.Copy(os.Stdout, master)
	fmt.Fprintf(os.Stderr, "recvtty: %d bytes, %v\n", n, err)
	if errors.Is(err, syscall.EIO) {
		err = nil
	}
	return err
}
