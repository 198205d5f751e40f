// Package affinity sets the CPU affinity of the executor and of the
// processes it starts (process.execCPUAffinity).
package affinity

import (
	"fmt"
	"log/slog"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/validate"
)

// cpuSet is the set of the CPUs of list.
func cpuSet(list string) (*unix.CPUSet, error) {
	cpus, err := validate.ParseList(list, validate.MaxCPUs)
	if err != nil {
		return nil, err
	}
	var set unix.CPUSet
	for _, c := range cpus {
		if c >= len(set)*64 {
			return nil, fmt.Errorf("CPU %d is beyond what teu can set", c)
		}
		set.Set(c)
	}
	return &set, nil
}

// Mask is a cpu_set_t with the CPUs of list, for the executor to set.
func Mask(list string) ([]byte, error) {
	set, err := cpuSet(list)
	if err != nil {
		return nil, err
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(set)), unsafe.Sizeof(*set)), nil
}

// setAffinity sets the CPU affinity of thread tid (0: the caller).
func setAffinity(tid int, list string) error {
	set, err := cpuSet(list)
	if err != nil {
		return err
	}
	if err := unix.SchedSetaffinity(tid, set); err != nil {
		return fmt.Errorf("CPUs %s: %w", list, err)
	}
	return nil
}

// Initial sets the CPU affinity the executor (pid, not yet in the
// container's cgroup) starts with, and so the process it forks: the list
// exec's execCPUAffinity.initial names, or (list "") every CPU, as runc
// does. Otherwise a teu run pinned with taskset would pin the container,
// and moving between cpusets of the same CPUs does not reset it. The
// container's cpuset narrows it when the process joins the cgroup. The
// debug line says what the kernel made of it (runc's tests read it).
func Initial(pid int, list string) error {
	var err error
	if list != "" {
		err = setAffinity(pid, list)
	} else {
		var all unix.CPUSet
		for c := 0; c < len(all)*64; c++ {
			all.Set(c)
		}
		err = unix.SchedSetaffinity(pid, &all)
	}
	if err != nil {
		return fmt.Errorf("set initial CPU affinity: %w", err)
	}
	var got unix.CPUSet
	if err := unix.SchedGetaffinity(pid, &got); err == nil {
		slog.Debug(fmt.Sprintf("nsexec[%d]: affinity: %#x", pid, uint64(got[0])), "cpus", cpuList(&got))
	}
	return nil
}

// cpuList formats set as a list like "0-1,3".
func cpuList(set *unix.CPUSet) string {
	var b strings.Builder
	for c := 0; c < len(set)*64; c++ {
		if !set.IsSet(c) {
			continue
		}
		end := c
		for end+1 < len(set)*64 && set.IsSet(end+1) {
			end++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if end > c {
			fmt.Fprintf(&b, "%d-%d", c, end)
		} else {
			fmt.Fprintf(&b, "%d", c)
		}
		c = end
	}
	return b.String()
}
