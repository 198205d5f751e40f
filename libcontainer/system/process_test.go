package system

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseStartTime(t *testing.T) {
	line := []byte("42 (a (weird) name) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10")
	got, err := parseStartTime(line)
	if err != nil || got != 987654 {
		t.Fatalf("parseStartTime = %d, %v; want 987654", got, err)
	}
	if _, err := parseStartTime([]byte("garbage")); err == nil {
		t.Fatal("parseStartTime accepted garbage")
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
