package libcontainer

import (
	"fmt"
	"log/slog"
	"strings"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/validate"
)

// applyProcessAttrs applies what the kernel keeps per task and passes
// across execve: the NUMA memory policy, the personality, the scheduler,
// the I/O priority and (exec only) the final CPU affinity. All act on the
// calling thread, which is the locked one that execs. It runs as root,
// before credentials drop (SCHED_FIFO, a negative nice or IOPRIO_CLASS_RT
// need CAP_SYS_NICE or CAP_SYS_ADMIN) and before an early seccomp filter.
func applyProcessAttrs(s *specs.Spec, exec bool) error {
	if mp := s.Linux.MemoryPolicy; mp != nil {
		if err := setMemoryPolicy(mp); err != nil {
			return err
		}
	}
	if pe := s.Linux.Personality; pe != nil {
		dom := validate.Personalities[pe.Domain]
		if _, _, e := unix.RawSyscall(unix.SYS_PERSONALITY, uintptr(dom), 0, 0); e != 0 {
			return fmt.Errorf("set personality %s: %w", pe.Domain, e)
		}
	}
	p := s.Process
	if sc := p.Scheduler; sc != nil {
		if err := setScheduler(sc); err != nil {
			return err
		}
	}
	if io := p.IOPriority; io != nil {
		prio := validate.IOPrioClasses[io.Class]<<13 | io.Priority
		const ioprioWhoProcess = 1
		if _, _, e := unix.RawSyscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, 0, uintptr(prio)); e != 0 {
			return fmt.Errorf("set I/O priority %s %d: %w", io.Class, io.Priority, e)
		}
	}
	// execCPUAffinity is not for the container's init; "final" is the
	// affinity after the move into the container's cgroup, which the
	// parent did when this process reported ready (exec_init.go).
	if a := p.ExecCPUAffinity; exec && a != nil && a.Final != "" {
		if err := setAffinity(0, a.Final); err != nil {
			return fmt.Errorf("set final CPU affinity: %w", err)
		}
	}
	return nil
}

// setAffinity sets the CPU affinity of thread tid (0: the caller).
func setAffinity(tid int, list string) error {
	cpus, err := validate.ParseList(list, validate.MaxCPUs)
	if err != nil {
		return err
	}
	var set unix.CPUSet
	for _, c := range cpus {
		if c >= len(set)*64 {
			return fmt.Errorf("CPU %d is beyond what teu can set", c)
		}
		set.Set(c)
	}
	if err := unix.SchedSetaffinity(tid, &set); err != nil {
		return fmt.Errorf("CPUs %s: %w", list, err)
	}
	return nil
}

// schedAttr is struct sched_attr, SCHED_ATTR_SIZE_VER1.
type schedAttr struct {
	size     uint32
	policy   uint32
	flags    uint64
	nice     int32
	priority uint32
	runtime  uint64
	deadline uint64
	period   uint64
	utilMin  uint32
	utilMax  uint32
}

func setScheduler(sc *specs.Scheduler) error {
	attr := schedAttr{policy: validate.SchedPolicies[sc.Policy], nice: sc.Nice, priority: uint32(sc.Priority),
		runtime: sc.Runtime, deadline: sc.Deadline, period: sc.Period}
	attr.size = uint32(unsafe.Sizeof(attr))
	for _, f := range sc.Flags {
		attr.flags |= validate.SchedFlags[f]
	}
	// The spec has no clamp values: with a clamp flag, the widest clamp.
	attr.utilMax = 1024
	if _, _, e := unix.RawSyscall(unix.SYS_SCHED_SETATTR, 0, uintptr(unsafe.Pointer(&attr)), 0); e != 0 {
		return fmt.Errorf("set scheduler %s: %w", sc.Policy, e)
	}
	return nil
}

func setMemoryPolicy(mp *specs.LinuxMemoryPolicy) error {
	mode := validate.MemoryPolicyModes[mp.Mode]
	for _, f := range mp.Flags {
		mode |= validate.MemoryPolicyFlags[f]
	}
	var mask []uint64
	if mp.Nodes != "" {
		nodes, err := validate.ParseList(mp.Nodes, validate.MaxNodes)
		if err != nil {
			return fmt.Errorf("memory policy nodes: %w", err)
		}
		mask = make([]uint64, nodes[len(nodes)-1]/64+1)
		for _, n := range nodes {
			mask[n/64] |= 1 << (n % 64)
		}
	}
	var e unix.Errno
	if len(mask) == 0 {
		_, _, e = unix.RawSyscall(unix.SYS_SET_MEMPOLICY, uintptr(mode), 0, 0)
	} else {
		// The kernel reads maxnode-1 bits.
		_, _, e = unix.RawSyscall(unix.SYS_SET_MEMPOLICY, uintptr(mode), uintptr(unsafe.Pointer(&mask[0])), uintptr(len(mask)*64+1))
	}
	if e != 0 {
		return fmt.Errorf("set memory policy %s %q: %w", mp.Mode, mp.Nodes, e)
	}
	return nil
}

// initialAffinity applies execCPUAffinity.initial to exec's init, pid,
// before it joins the container's cgroup: nsexec.c is single-threaded
// then, and the process it forks inherits the affinity. The debug log
// says what the kernel made of it.
func initialAffinity(pid int, list string) error {
	if err := setAffinity(pid, list); err != nil {
		return fmt.Errorf("set initial CPU affinity: %w", err)
	}
	var got unix.CPUSet
	if err := unix.SchedGetaffinity(pid, &got); err == nil {
		slog.Debug("exec: initial CPU affinity", "pid", pid, "cpus", cpuList(&got))
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
