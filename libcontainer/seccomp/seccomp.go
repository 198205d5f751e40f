// Package seccomp turns a runtime-spec linux.seccomp profile into a seccomp
// filter and installs it.
//
// libseccomp compiles the rules; teu then loads the resulting cBPF program
// itself with seccomp(2), behind a short prefix of its own (see enosys.go)
// that makes syscalls newer than everything the profile names fail with
// ENOSYS instead of the profile's default action. Loading the program
// ourselves also means the load flags (TSYNC, LOG, SPEC_ALLOW,
// WAIT_KILLABLE_RECV, NEW_LISTENER) do not depend on what the installed
// libseccomp knows, and that no_new_privs is left to the caller, as the
// spec's process.noNewPrivileges says.
package seccomp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// Actions by spec name. SCMP_ACT_KILL is the historic name of KILL_THREAD.
var actions = map[specs.LinuxSeccompAction]libseccomp.ScmpAction{
	specs.ActKill:        libseccomp.ActKillThread,
	specs.ActKillThread:  libseccomp.ActKillThread,
	specs.ActKillProcess: libseccomp.ActKillProcess,
	specs.ActTrap:        libseccomp.ActTrap,
	specs.ActErrno:       libseccomp.ActErrno,
	specs.ActTrace:       libseccomp.ActTrace,
	specs.ActAllow:       libseccomp.ActAllow,
	specs.ActLog:         libseccomp.ActLog,
	specs.ActNotify:      libseccomp.ActNotify,
}

// Architectures by spec name.
var arches = map[specs.Arch]libseccomp.ScmpArch{
	specs.ArchX86: libseccomp.ArchX86, specs.ArchX86_64: libseccomp.ArchAMD64, specs.ArchX32: libseccomp.ArchX32,
	specs.ArchARM: libseccomp.ArchARM, specs.ArchAARCH64: libseccomp.ArchARM64,
	specs.ArchMIPS: libseccomp.ArchMIPS, specs.ArchMIPS64: libseccomp.ArchMIPS64, specs.ArchMIPS64N32: libseccomp.ArchMIPS64N32,
	specs.ArchMIPSEL: libseccomp.ArchMIPSEL, specs.ArchMIPSEL64: libseccomp.ArchMIPSEL64, specs.ArchMIPSEL64N32: libseccomp.ArchMIPSEL64N32,
	specs.ArchPPC: libseccomp.ArchPPC, specs.ArchPPC64: libseccomp.ArchPPC64, specs.ArchPPC64LE: libseccomp.ArchPPC64LE,
	specs.ArchS390: libseccomp.ArchS390, specs.ArchS390X: libseccomp.ArchS390X,
	specs.ArchPARISC: libseccomp.ArchPARISC, specs.ArchPARISC64: libseccomp.ArchPARISC64,
	specs.ArchRISCV64: libseccomp.ArchRISCV64, specs.ArchLOONGARCH64: libseccomp.ArchLOONGARCH64,
	specs.ArchM68K: libseccomp.ArchM68K, specs.ArchSH: libseccomp.ArchSH, specs.ArchSHEB: libseccomp.ArchSHEB,
}

// Argument comparisons by spec name.
var ops = map[specs.LinuxSeccompOperator]libseccomp.ScmpCompareOp{
	specs.OpNotEqual:     libseccomp.CompareNotEqual,
	specs.OpLessThan:     libseccomp.CompareLess,
	specs.OpLessEqual:    libseccomp.CompareLessOrEqual,
	specs.OpEqualTo:      libseccomp.CompareEqual,
	specs.OpGreaterEqual: libseccomp.CompareGreaterEqual,
	specs.OpGreaterThan:  libseccomp.CompareGreater,
	specs.OpMaskedEqual:  libseccomp.CompareMaskedEqual,
}

// Load flags by spec name. SECCOMP_FILTER_FLAG_TSYNC is not in the spec's
// list but is accepted and ignored, as runc does: the executor that loads
// the filter has one thread.
var flags = map[specs.LinuxSeccompFlag]uintptr{
	"SECCOMP_FILTER_FLAG_TSYNC":            0,
	specs.LinuxSeccompFlagLog:              unix.SECCOMP_FILTER_FLAG_LOG,
	specs.LinuxSeccompFlagSpecAllow:        unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW,
	specs.LinuxSeccompFlagWaitKillableRecv: unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
}

// Actions lists the actions profiles may use, sorted (for `features`).
func Actions() []string { return sortedKeys(actions) }

// Operators lists the argument comparisons, sorted.
func Operators() []string { return sortedKeys(ops) }

// Archs lists the architectures a profile may name here, sorted: those of
// the table the linked libseccomp can add to a filter for this machine (it
// refuses architectures it predates, and ones of the other byte order).
func Archs() []string {
	var out []string
	for _, name := range sortedKeys(arches) {
		f, err := libseccomp.NewFilter(libseccomp.ActAllow)
		if err != nil {
			return nil
		}
		if err := f.AddArch(arches[specs.Arch(name)]); err == nil {
			out = append(out, name)
		}
		f.Release()
	}
	return out
}

// KnownFlags lists the load flags teu accepts, sorted.
func KnownFlags() []string { return sortedKeys(flags) }

// SupportedFlags lists the known flags the running kernel accepts: a
// seccomp(2) call with the flag and no program fails with EFAULT (flags are
// checked first) when the kernel knows the flag, EINVAL when it does not.
func SupportedFlags() []string {
	var out []string
	for _, name := range KnownFlags() {
		fl := flags[specs.LinuxSeccompFlag(name)]
		if fl == unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV {
			fl |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER // only valid with a listener
		}
		_, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, fl, 0)
		if e == unix.EFAULT {
			out = append(out, name)
		}
	}
	return out
}

func sortedKeys[K ~string, V any](m map[K]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, string(k))
	}
	sort.Strings(out)
	return out
}

// Version is the version of the libseccomp teu runs with.
func Version() string {
	major, minor, micro := libseccomp.GetLibraryVersion()
	return fmt.Sprintf("%d.%d.%d", major, minor, micro)
}

// HasNotify tells whether the profile uses SCMP_ACT_NOTIFY, so that loading
// it yields a listener fd for the seccomp agent.
func HasNotify(s *specs.LinuxSeccomp) bool {
	if s == nil {
		return false
	}
	if s.DefaultAction == specs.ActNotify {
		return true
	}
	for _, sc := range s.Syscalls {
		if sc.Action == specs.ActNotify {
			return true
		}
	}
	return false
}

// Validate checks a profile with errors that name what is wrong, then
// compiles it, so that whatever libseccomp would refuse fails at create
// time rather than in the container's init. Syscall names libseccomp does
// not know are skipped, with a debug log, as runc does.
func Validate(s *specs.LinuxSeccomp) error {
	if s == nil {
		return nil
	}
	if _, ok := actions[s.DefaultAction]; !ok {
		return fmt.Errorf("seccomp: invalid defaultAction %q", s.DefaultAction)
	}
	if s.DefaultAction == specs.ActNotify {
		// Every syscall of teu's own init would wait on the agent.
		return errors.New("seccomp: SCMP_ACT_NOTIFY cannot be the defaultAction")
	}
	if s.DefaultErrnoRet != nil && s.DefaultAction != specs.ActErrno && s.DefaultAction != specs.ActTrace {
		return fmt.Errorf("seccomp: defaultErrnoRet needs defaultAction SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not %s", s.DefaultAction)
	}
	for _, a := range s.Architectures {
		if _, ok := arches[a]; !ok {
			return fmt.Errorf("seccomp: invalid architecture %q", a)
		}
	}
	for _, f := range s.Flags {
		if _, ok := flags[f]; !ok {
			return fmt.Errorf("seccomp: invalid flag %q", f)
		}
	}
	for i, sc := range s.Syscalls {
		if len(sc.Names) == 0 {
			return fmt.Errorf("seccomp: syscalls[%d]: names is empty", i)
		}
		if _, ok := actions[sc.Action]; !ok {
			return fmt.Errorf("seccomp: syscalls[%d] (%s): invalid action %q", i, sc.Names[0], sc.Action)
		}
		if sc.ErrnoRet != nil && sc.Action != specs.ActErrno && sc.Action != specs.ActTrace {
			return fmt.Errorf("seccomp: syscalls[%d] (%s): errnoRet needs action SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not %s", i, sc.Names[0], sc.Action)
		}
		if sc.Action == specs.ActNotify {
			for _, n := range sc.Names {
				// teu's init talks to its parent with these after loading
				// the filter; notifying them would hang the container.
				if n == "write" || n == "sendmsg" {
					return fmt.Errorf("seccomp: SCMP_ACT_NOTIFY cannot be used for the %s syscall", n)
				}
			}
		}
		for j, a := range sc.Args {
			if _, ok := ops[a.Op]; !ok {
				return fmt.Errorf("seccomp: syscalls[%d] (%s): args[%d]: invalid op %q", i, sc.Names[0], j, a.Op)
			}
			if a.Index > 5 {
				return fmt.Errorf("seccomp: syscalls[%d] (%s): args[%d]: index %d is not a syscall argument (0-5)", i, sc.Names[0], j, a.Index)
			}
		}
	}
	if HasNotify(s) && s.ListenerPath == "" {
		return errors.New("seccomp: SCMP_ACT_NOTIFY needs listenerPath")
	}
	// Whatever libseccomp itself refuses surfaces when create compiles the
	// filter, still before anything of the container exists.
	return nil
}

// errnoAction is act with the errno (or trace value) it returns: errnoRet,
// else EPERM.
func errnoAction(act libseccomp.ScmpAction, ret *uint) libseccomp.ScmpAction {
	code := int16(unix.EPERM)
	if ret != nil {
		code = int16(*ret)
	}
	return act.SetReturnCode(code)
}

func action(name specs.LinuxSeccompAction, ret *uint) (libseccomp.ScmpAction, error) {
	act, ok := actions[name]
	if !ok {
		return libseccomp.ActInvalid, fmt.Errorf("seccomp: invalid action %q", name)
	}
	if act == libseccomp.ActErrno || act == libseccomp.ActTrace {
		act = errnoAction(act, ret)
	}
	return act, nil
}

// conditions groups a rule's argument checks into the libseccomp rules to
// emit. Checks on different arguments are AND'ed in one rule; if any
// argument is checked more than once, the spec's (and runc's) meaning is
// OR, so each check becomes a rule of its own.
func conditions(args []specs.LinuxSeccompArg) ([][]libseccomp.ScmpCondition, error) {
	var all []libseccomp.ScmpCondition
	seen := map[uint]bool{}
	repeated := false
	for _, a := range args {
		op, ok := ops[a.Op]
		if !ok {
			return nil, fmt.Errorf("invalid op %q", a.Op)
		}
		var c libseccomp.ScmpCondition
		var err error
		if op == libseccomp.CompareMaskedEqual {
			// value is the mask, valueTwo what the masked argument must be.
			c, err = libseccomp.MakeCondition(a.Index, op, a.Value, a.ValueTwo)
		} else {
			c, err = libseccomp.MakeCondition(a.Index, op, a.Value)
		}
		if err != nil {
			return nil, err
		}
		repeated = repeated || seen[a.Index]
		seen[a.Index] = true
		all = append(all, c)
	}
	if len(all) == 0 {
		return [][]libseccomp.ScmpCondition{nil}, nil
	}
	if !repeated {
		return [][]libseccomp.ScmpCondition{all}, nil
	}
	groups := make([][]libseccomp.ScmpCondition, len(all))
	for i, c := range all {
		groups[i] = []libseccomp.ScmpCondition{c}
	}
	return groups, nil
}

// filter builds the libseccomp filter for s. The caller releases it.
func filter(s *specs.LinuxSeccomp, logSkipped bool) (*libseccomp.ScmpFilter, error) {
	def, err := action(s.DefaultAction, s.DefaultErrnoRet)
	if err != nil {
		return nil, err
	}
	f, err := libseccomp.NewFilter(def)
	if err != nil {
		return nil, fmt.Errorf("seccomp: new filter: %w", err)
	}
	for _, name := range s.Architectures {
		a, ok := arches[name]
		if !ok {
			f.Release()
			return nil, fmt.Errorf("seccomp: invalid architecture %q", name)
		}
		if err := f.AddArch(a); err != nil {
			f.Release()
			return nil, fmt.Errorf("seccomp: add architecture %s: %w", name, err)
		}
	}
	for _, sc := range s.Syscalls {
		act, err := action(sc.Action, sc.ErrnoRet)
		if err != nil {
			f.Release()
			return nil, err
		}
		if act == def {
			// libseccomp refuses rules that repeat the default; they
			// change nothing.
			continue
		}
		groups, err := conditions(sc.Args)
		if err != nil {
			f.Release()
			return nil, fmt.Errorf("seccomp: %v: %w", sc.Names, err)
		}
		for _, name := range sc.Names {
			nr, err := libseccomp.GetSyscallFromName(name)
			if err != nil {
				if logSkipped {
					slog.Debug("seccomp: skipping syscall unknown to libseccomp", "syscall", name)
				}
				continue
			}
			for _, conds := range groups {
				if len(conds) == 0 {
					err = f.AddRule(nr, act)
				} else {
					err = f.AddRuleConditional(nr, act, conds)
				}
				if err != nil {
					f.Release()
					return nil, fmt.Errorf("seccomp: rule for %s: %w", name, err)
				}
			}
		}
	}
	return f, nil
}

// Program compiles s into the cBPF program Load installs: the ENOSYS
// prefix, then libseccomp's filter. logSkipped logs the syscall names
// libseccomp does not know.
func Program(s *specs.LinuxSeccomp, logSkipped bool) ([]unix.SockFilter, error) {
	f, err := filter(s, logSkipped)
	if err != nil {
		return nil, err
	}
	defer f.Release()
	main, err := export(f)
	if err != nil {
		return nil, err
	}
	stub, err := enosysStub(s)
	if err != nil {
		return nil, err
	}
	prog := append(stub, main...)
	if len(prog) > unix.BPF_MAXINSNS {
		return nil, fmt.Errorf("seccomp: filter has %d instructions, more than the kernel's %d", len(prog), unix.BPF_MAXINSNS)
	}
	return prog, nil
}

// export gets libseccomp's compiled program (through a memfd: the
// in-memory export needs libseccomp 2.6).
func export(f *libseccomp.ScmpFilter) ([]unix.SockFilter, error) {
	fd, err := unix.MemfdCreate("seccomp-bpf", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("seccomp: memfd: %w", err)
	}
	mf := os.NewFile(uintptr(fd), "seccomp-bpf")
	defer mf.Close()
	if err := f.ExportBPF(mf); err != nil {
		return nil, fmt.Errorf("seccomp: export filter: %w", err)
	}
	if _, err := mf.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(mf)
	if err != nil {
		return nil, fmt.Errorf("seccomp: read filter: %w", err)
	}
	const size = int(unsafe.Sizeof(unix.SockFilter{}))
	if len(raw) == 0 || len(raw)%size != 0 {
		return nil, fmt.Errorf("seccomp: libseccomp exported %d bytes, not a cBPF program", len(raw))
	}
	prog := make([]unix.SockFilter, len(raw)/size)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&prog[0])), len(raw)), raw)
	return prog, nil
}

// loadFlags are the seccomp(2) flags for s; listener asks for a notify fd.
func loadFlags(s *specs.LinuxSeccomp, listener bool) uintptr {
	var fl uintptr
	for _, name := range s.Flags {
		fl |= flags[name]
	}
	if s.Flags == nil {
		// No flags field at all (not an empty one): runc's default, no
		// speculative store bypass mitigation forced on the process.
		fl = unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW
	}
	if listener {
		fl |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
	} else {
		// The kernel wants a listener for this one; there is none to wait on.
		fl &^= unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
	}
	return fl
}

// Flags are the seccomp(2) flags the filter of s is loaded with (with a
// notify listener when s has SCMP_ACT_NOTIFY).
func Flags(s *specs.LinuxSeccomp) uintptr { return loadFlags(s, HasNotify(s)) }

// Load installs s on the calling thread (on every thread of the process
// with SECCOMP_FILTER_FLAG_TSYNC) and returns the notify listener fd, or
// -1 when s has no SCMP_ACT_NOTIFY. It does not set no_new_privs: without
// it the caller must have CAP_SYS_ADMIN.
func Load(s *specs.LinuxSeccomp) (int, error) {
	prog, err := Program(s, false)
	if err != nil {
		return -1, err
	}
	return LoadProgram(prog, s)
}

// LoadProgram loads a program Program compiled (in the parent, before the
// container's rlimits could starve libseccomp) with the flags of s.
func LoadProgram(prog []unix.SockFilter, s *specs.LinuxSeccomp) (int, error) {
	if len(prog) == 0 {
		return -1, errors.New("seccomp: empty filter program")
	}
	listener := HasNotify(s)
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	r, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, loadFlags(s, listener), uintptr(unsafe.Pointer(&fprog)))
	if e != 0 {
		return -1, fmt.Errorf("seccomp: load filter: %w", e)
	}
	if !listener {
		return -1, nil
	}
	return int(r), nil
}

// knownNumbers are the numbers, for arch, of the profile's syscalls that
// libseccomp knows there, sorted.
func knownNumbers(s *specs.LinuxSeccomp, arch libseccomp.ScmpArch) []int {
	var nrs []int
	for _, sc := range s.Syscalls {
		for _, name := range sc.Names {
			nr, err := libseccomp.GetSyscallFromNameByArch(name, arch)
			if err == nil && nr >= 0 {
				nrs = append(nrs, int(nr))
			}
		}
	}
	sort.Ints(nrs)
	return nrs
}

// Encode packs a program as the kernel's struct sock_filter array, to send
// it to the init compactly.
func Encode(prog []unix.SockFilter) []byte {
	out := make([]byte, 0, 8*len(prog))
	for _, f := range prog {
		out = binary.LittleEndian.AppendUint16(out, f.Code)
		out = append(out, f.Jt, f.Jf)
		out = binary.LittleEndian.AppendUint32(out, f.K)
	}
	return out
}

// Decode unpacks what Encode packed.
func Decode(b []byte) ([]unix.SockFilter, error) {
	if len(b)%8 != 0 {
		return nil, errors.New("seccomp: truncated filter program")
	}
	prog := make([]unix.SockFilter, len(b)/8)
	for i := range prog {
		p := b[8*i:]
		prog[i] = unix.SockFilter{Code: binary.LittleEndian.Uint16(p), Jt: p[2], Jf: p[3], K: binary.LittleEndian.Uint32(p[4:])}
	}
	return prog, nil
}
