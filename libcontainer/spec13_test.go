package libcontainer

import (
	"testing"

	"golang.org/x/sys/unix"
)

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
