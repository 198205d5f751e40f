package libcontainer

import (
	"encoding/binary"
	"runtime"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestSchedAttr(t *testing.T) {
	sc := &specs.Scheduler{Policy: specs.SchedDeadline, Nice: -3, Priority: 7, Runtime: 10, Deadline: 20, Period: 30,
		Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork}}
	b := schedAttr(sc)
	le := binary.LittleEndian
	if len(b) != 56 || le.Uint32(b) != 56 {
		t.Fatalf("sched_attr of %d bytes, size field %d", len(b), le.Uint32(b))
	}
	if le.Uint32(b[4:]) != 6 || le.Uint64(b[8:]) != 1 || int32(le.Uint32(b[16:])) != -3 || le.Uint32(b[20:]) != 7 ||
		le.Uint64(b[24:]) != 10 || le.Uint64(b[32:]) != 20 || le.Uint64(b[40:]) != 30 || le.Uint32(b[52:]) != 1024 {
		t.Errorf("sched_attr = %v", b)
	}
}

func TestCPUMask(t *testing.T) {
	b, err := cpuMask("0,2-3,65")
	if err != nil {
		t.Fatal(err)
	}
	var set unix.CPUSet
	if len(b) != len(set)*8 || b[0] != 0b1101 || b[8] != 0b10 {
		t.Errorf("cpuMask = %v", b[:16])
	}
	if _, err := cpuMask("x"); err == nil {
		t.Error("cpuMask of a bad list succeeded")
	}
}

func TestCPUListAndAffinity(t *testing.T) {
	var set unix.CPUSet
	for _, c := range []int{0, 1, 3, 5, 6, 7} {
		set.Set(c)
	}
	if got := cpuList(&set); got != "0-1,3,5-7" {
		t.Errorf("cpuList = %q", got)
	}
	// On a thread of this test's own, given back its affinity.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		t.Fatal(err)
	}
	defer unix.SchedSetaffinity(0, &old)
	first := -1
	for c := 0; first < 0 && c < len(old)*64; c++ {
		if old.IsSet(c) {
			first = c
		}
	}
	if err := setAffinity(0, strconv.Itoa(first)); err != nil {
		t.Fatal(err)
	}
	var got unix.CPUSet
	unix.SchedGetaffinity(0, &got)
	if got.Count() != 1 || !got.IsSet(first) {
		t.Errorf("affinity %s after setAffinity(%d)", cpuList(&got), first)
	}
	if err := setAffinity(0, "1-x"); err == nil {
		t.Error("a bad list was taken")
	}
	if err := initialAffinity(0, ""); err != nil {
		t.Fatal(err)
	}
	unix.SchedGetaffinity(0, &got)
	if got.Count() < old.Count() {
		t.Errorf("initialAffinity(\"\") left %s of %s", cpuList(&got), cpuList(&old))
	}
	if err := initialAffinity(0, "100000"); err == nil || !strings.Contains(err.Error(), "initial CPU affinity") {
		t.Errorf("an impossible CPU: %v", err)
	}
}
