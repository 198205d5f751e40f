package system

import (
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseStat(t *testing.T) {
	line := []byte("42 (a (weird) name) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10")
	if _, _, err := parseStat([]byte("garbage")); err == nil {
		t.Fatal("parseStat accepted garbage")
	}
	if st, start, err := parseStat(line); err != nil || st != 'S' || start != 987654 {
		t.Fatalf("parseStat = %c, %d, %v; want S, 987654", st, start, err)
	}
	if _, _, err := parseStat([]byte("42 (x) SS 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19")); err == nil {
		t.Fatal("parseStat accepted a state of two letters")
	}
}

// A zombie is gone for PidFD, whatever its start time.
func TestPidFDZombie(t *testing.T) {
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Wait()
	fd, err := unix.PidfdOpen(p.Pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	// Readable once it has exited; not reaped until p.Wait.
	if _, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 10000); err != nil {
		t.Fatal(err)
	}
	if st, err := ProcessState(p.Pid); err != nil || st != 'Z' {
		t.Fatalf("ProcessState of an exited child = %c, %v; want Z", st, err)
	}
	start, err := StartTime(p.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if fd, err := PidFD(p.Pid, start); !errors.Is(err, unix.ESRCH) {
		unix.Close(fd)
		t.Fatalf("PidFD of a zombie = %v, want ESRCH", err)
	}
}

func TestPidFDSelf(t *testing.T) {
	st, err := StartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	fd, err := PidFD(os.Getpid(), st)
	if err != nil {
		t.Fatalf("PidFD(self): %v", err)
	}
	defer unix.Close(fd)
	if _, err := PidFD(os.Getpid(), st+1); err == nil {
		t.Fatal("PidFD accepted a wrong start time")
	}
}
