// Command ptyrun runs a command on a new pseudo-terminal, as a shell runs a
// job on its terminal, and copies what is written to the terminal into a
// file until every holder of the terminal is gone: for tests of processes
// whose stdio is a terminal they do not own (checkpoint --shell-job).
//
//	ptyrun OUT CMD [ARG...]
//
// CMD runs in a new session whose controlling terminal is the pty; its
// exit status is printed to stderr, ptyrun's own is 0 once the terminal
// is closed by all.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"

	"github.com/teu-runtime/teu/libcontainer/console"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: ptyrun OUT CMD [ARG...]")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "ptyrun:", err)
		os.Exit(1)
	}
}

func run(out string, argv []string) error {
	master, peer, err := console.OpenPty()
	if err != nil {
		return err
	}
	defer master.Close()
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = peer, peer, peer
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	peer.Close()
	done := make(chan error, 1)
	go func() {
		// The master reads EIO once the last holder of the peer is gone.
		_, err := io.Copy(f, master)
		if errors.Is(err, syscall.EIO) {
			err = nil
		}
		done <- err
	}()
	fmt.Fprintln(os.Stderr, "ptyrun: command:", cmd.Wait())
	return <-done
}
