package console

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSendRecvFd(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, b := os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
	defer a.Close()
	defer b.Close()
	r, w, _ := os.Pipe()
	defer r.Close()
	if err := SendFd(a, "/dev/ptmx", w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	got, err := RecvFd(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name() != "/dev/ptmx" {
		t.Errorf("name = %q", got.Name())
	}
	got.Write([]byte("x"))
	got.Close()
	buf := make([]byte, 1)
	if n, _ := r.Read(buf); n != 1 || buf[0] != 'x' {
		t.Fatal("received fd is not the pipe we sent")
	}
}

func TestOpenPty(t *testing.T) {
	m, p, err := OpenPty()
	if err != nil {
		t.Skipf("no usable /dev/ptmx here: %v", err)
	}
	defer m.Close()
	defer p.Close()
	if !IsTerminal(p) {
		t.Fatal("peer is not a terminal")
	}
	if err := SetSize(p, 40, 100); err != nil {
		t.Fatal(err)
	}
	ws, _ := unix.IoctlGetWinsize(int(m.Fd()), unix.TIOCGWINSZ)
	if ws.Row != 40 || ws.Col != 100 {
		t.Fatalf("winsize %+v", ws)
	}
}

// The peer is what the container writes to: it must be open for writing.
func TestOpenPtyPeerWritable(t *testing.T) {
	m, p, err := OpenPty()
	if err != nil {
		t.Skipf("no usable /dev/ptmx here: %v", err)
	}
	defer m.Close()
	defer p.Close()
	if _, err := p.Write([]byte("hi\n")); err != nil {
		t.Fatalf("write to peer: %v", err)
	}
	buf := make([]byte, 16)
	n, err := m.Read(buf)
	if err != nil || string(buf[:n]) != "hi\r\n" {
		t.Fatalf("master read %q, %v", buf[:n], err)
	}
}
