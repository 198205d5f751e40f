package libcontainer

import (
	"fmt"
	"syscall"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/seccomp"
	"github.com/teu-runtime/teu/libcontainer/validate"
	"github.com/teu-runtime/teu/nsenter"
)

// Rlimits go on in two steps. The init is a Go process whose address space
// (about 1.5 GiB of reservations), threads and fds the runtime may still
// grow before exec: a process.rlimits RLIMIT_AS of 1 GiB set early let a
// later mmap fail and killed the init with nothing to report. So:
//   - early, while init still has CAP_SYS_RESOURCE, every limit is raised
//     to at least its target (raising needs the capability), never lowered;
//   - late, with raw syscalls that allocate nothing, every limit is set to
//     its exact target, which only lowers and needs no capability: right
//     before execve (see execProcess), after the seccomp filter. A filter
//     loaded early (before the switch of credentials, or with a notify
//     listener) is asked first, by running it on the very prlimit64 calls:
//     only if it would refuse one do the limits go on before it, and the
//     Go runtime then lives under them until exec. (With the runtime-tools
//     defaults, seccomp before credentials, lowering early let the init
//     die at random, or fail on exec.fifo under a small RLIMIT_NOFILE.)

type rlimitTarget struct {
	name     string
	resource int
	lim      unix.Rlimit
}

// pendingRlimits are the exact targets still to set; nil once set.
var pendingRlimits []rlimitTarget

// raiseRlimits is the early step; it records the targets for lowerRlimits.
func raiseRlimits(p *specs.Process) error {
	pendingRlimits = pendingRlimits[:0]
	nofile := false
	for _, r := range p.Rlimits {
		res := validate.Rlimits[r.Type]
		nofile = nofile || res == unix.RLIMIT_NOFILE
		var cur unix.Rlimit
		if err := unix.Getrlimit(res, &cur); err != nil {
			return fmt.Errorf("get %s: %w", r.Type, err)
		}
		early := syscall.Rlimit{Cur: max(cur.Cur, r.Soft), Max: max(cur.Max, r.Hard)}
		early.Cur = min(early.Cur, early.Max)
		if err := syscall.Setrlimit(res, &early); err != nil {
			return fmt.Errorf("set %s to %d/%d: %w", r.Type, r.Soft, r.Hard, err)
		}
		pendingRlimits = append(pendingRlimits, rlimitTarget{r.Type, res, unix.Rlimit{Cur: r.Soft, Max: r.Hard}})
	}
	// Go's exec would give the process the RLIMIT_NOFILE this init started
	// with (the runtime raised its soft limit); execProcess bypasses it.
	if cur, hard := nsenter.InitNofile(); !nofile && hard != 0 {
		pendingRlimits = append(pendingRlimits, rlimitTarget{"RLIMIT_NOFILE", unix.RLIMIT_NOFILE, unix.Rlimit{Cur: cur, Max: hard}})
	}
	return nil
}

// lowerRlimits is the late step. It runs once; later calls do nothing.
func lowerRlimits() error {
	for i := range pendingRlimits {
		t := &pendingRlimits[i]
		_, _, e := unix.RawSyscall6(unix.SYS_PRLIMIT64, 0, uintptr(t.resource), uintptr(unsafe.Pointer(&t.lim)), 0, 0, 0)
		if e != 0 {
			return fmt.Errorf("set %s to %d/%d: %w", t.name, t.lim.Cur, t.lim.Max, e)
		}
	}
	pendingRlimits = nil
	return nil
}

// filterAllowsRlimits reports whether prog lets through every prlimit64
// call lowerRlimits will make, with its very arguments.
func filterAllowsRlimits(prog []unix.SockFilter) bool {
	arch, err := seccomp.NativeArch()
	if err != nil {
		return false
	}
	for i := range pendingRlimits {
		t := &pendingRlimits[i]
		c := seccomp.Call{Nr: unix.SYS_PRLIMIT64, Arch: arch,
			Args: [6]uint64{0, uint64(t.resource), uint64(uintptr(unsafe.Pointer(&t.lim)))}}
		if !seccomp.Allows(prog, &c) {
			return false
		}
	}
	return true
}

// execProcess is the last step of init and exec: the seccomp filter if it
// goes on now, the exact rlimits, and execve, with nothing allocated after
// the rlimits are lowered.
func execProcess(s *specs.Spec, sync syncSock, path string, argv, env []string) error {
	pathp, err := syscall.BytePtrFromString(path)
	if err != nil {
		return fmt.Errorf("exec %s: %w", argv[0], err)
	}
	argvp, err := syscall.SlicePtrFromStrings(argv)
	if err != nil {
		return fmt.Errorf("exec %s: %w", argv[0], err)
	}
	envp, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return fmt.Errorf("exec %s: env: %w", argv[0], err)
	}
	if err := initSeccomp(s, sync, seccompBeforeExec); err != nil {
		return err
	}
	if err := lowerRlimits(); err != nil {
		return err
	}
	_, _, e := unix.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(pathp)),
		uintptr(unsafe.Pointer(&argvp[0])), uintptr(unsafe.Pointer(&envp[0])))
	return fmt.Errorf("exec %s: %w", argv[0], e)
}
