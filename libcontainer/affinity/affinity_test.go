package affinity

import (
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestMask(t *testing.T) {
	b, err := Mask("0,2-3,65")
	if err != nil {
		t.Fatal(err)
	}
	var set unix.CPUSet
	if len(b) != len(set)*8 || b[0] != 0b1101 || b[8] != 0b10 {
		t.Errorf("cpuMask = %v", b[:16])
	}
	if _, err := Mask("x"); err == nil {
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
	if err := Initial(0, ""); err != nil {
		t.Fatal(err)
	}
	unix.SchedGetaffinity(0, &got)
	if got.Count() < old.Count() {
		t.Errorf("Initial(\"\") left %s of %s", cpuList(&got), cpuList(&old))
	}
	if err := Initial(0, "100000"); err == nil || !strings.Contains(err.Error(), "initial CPU affinity") {
		t.Errorf("an impossible CPU: %v", err)
	}
}

func TestCPUList(t *testing.T) {
	for want, cpus := range map[string][]int{"": nil, "0": {0}, "0-1": {0, 1}, "0-2,5,7-8": {0, 1, 2, 5, 7, 8}, "1023": {1023}} {
		var set unix.CPUSet
		for _, c := range cpus {
			set.Set(c)
		}
		if got := cpuList(&set); got != want {
			t.Errorf("%v: got %q, want %q", cpus, got, want)
		}
	}
}
