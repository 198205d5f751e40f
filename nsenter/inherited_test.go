package nsenter

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestInheritedFdsHelper is the child of TestInheritedFds: it prints what
// its constructor found, then every fd above stdio it holds now.
func TestInheritedFdsHelper(t *testing.T) {
	if os.Getenv("TEU_TEST_INHERITED") == "" {
		t.Skip("runs only as TestInheritedFds's child")
	}
	fds, ok := InheritedFds()
	open, _ := os.ReadDir("/proc/self/fd")
	var names []string
	for _, e := range open {
		names = append(names, e.Name())
	}
	fmt.Printf("inherited %v %v\nopen %s\n", ok, fds, strings.Join(names, " "))
	for _, fd := range fds {
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil || flags&unix.FD_CLOEXEC == 0 {
			fmt.Printf("fd %d not close-on-exec\n", fd)
		}
	}
}

// The list is the caller's fds exactly: not the ones the Go runtime and
// the test framework open before any Go code runs.
func TestInheritedFds(t *testing.T) {
	a, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestInheritedFdsHelper$", "-test.v")
	cmd.Env = append(os.Environ(), "TEU_TEST_INHERITED=1")
	cmd.ExtraFiles = []*os.File{a, a} // fds 3 and 4
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "inherited true [3 4]\n") {
		t.Fatalf("want inherited fds [3 4]:\n%s", out)
	}
	if strings.Contains(string(out), "not close-on-exec") {
		t.Fatalf("an inherited fd is not close-on-exec:\n%s", out)
	}
	// The runtime did open more (else the test shows nothing).
	for _, l := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(l, "open "); ok {
			t.Logf("fds open in the helper: %s", rest)
		}
	}
}
