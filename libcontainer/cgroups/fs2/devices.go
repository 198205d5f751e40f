package fs2

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// cgroup v2 has no devices controller: access to device nodes is decided by
// a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup. The spec's
// rules have cgroup v1 semantics (applied in order, later rules override),
// so they are first reduced the way the v1 kernel would (a default verdict
// plus exceptions) and then compiled into one program.

// Access bits and device types as the kernel passes them in
// struct bpf_cgroup_dev_ctx.access_type: (access << 16) | type.
const (
	accMknod = 1 // BPF_DEVCG_ACC_MKNOD
	accRead  = 2 // BPF_DEVCG_ACC_READ
	accWrite = 4 // BPF_DEVCG_ACC_WRITE
	accAll   = accMknod | accRead | accWrite

	devBlock = 1 // BPF_DEVCG_DEV_BLOCK
	devChar  = 2 // BPF_DEVCG_DEV_CHAR
)

// devRule is one normalized rule; major/minor -1 is the wildcard.
type devRule struct {
	typ          byte // 'a', 'b' or 'c'
	major, minor int64
	access       uint32
	allow        bool
}

func (r devRule) String() string {
	num := func(n int64) string {
		if n < 0 {
			return "*"
		}
		return fmt.Sprint(n)
	}
	acc := ""
	for _, a := range []struct {
		bit uint32
		c   string
	}{{accRead, "r"}, {accWrite, "w"}, {accMknod, "m"}} {
		if r.access&a.bit != 0 {
			acc += a.c
		}
	}
	verdict := "deny"
	if r.allow {
		verdict = "allow"
	}
	return fmt.Sprintf("%s %c %s:%s %s", verdict, r.typ, num(r.major), num(r.minor), acc)
}

func convertRule(d specs.LinuxDeviceCgroup) (devRule, error) {
	r := devRule{typ: 'a', major: -1, minor: -1, allow: d.Allow}
	switch d.Type {
	case "", "a":
	case "b", "c":
		r.typ = d.Type[0]
	default:
		return r, fmt.Errorf("device rule type %q: want a, b or c", d.Type)
	}
	for _, n := range []struct {
		p   *int64
		dst *int64
	}{{d.Major, &r.major}, {d.Minor, &r.minor}} {
		if n.p == nil || *n.p < 0 {
			continue
		}
		// The program compares against 32-bit immediates; real device
		// numbers are far smaller (12-bit major, 20-bit minor).
		if *n.p > math.MaxInt32 {
			return r, fmt.Errorf("device number %d out of range", *n.p)
		}
		*n.dst = *n.p
	}
	if d.Access == "" {
		r.access = accAll
	}
	for _, c := range d.Access {
		switch c {
		case 'r':
			r.access |= accRead
		case 'w':
			r.access |= accWrite
		case 'm':
			r.access |= accMknod
		default:
			return r, fmt.Errorf("device rule access %q: want a combination of r, w, m", d.Access)
		}
	}
	return r, nil
}

// devPolicy is the reduced rule set: a default verdict and exceptions to it.
type devPolicy struct {
	defaultAllow bool
	exceptions   []devRule // each with allow == !defaultAllow
}

// reduceRules applies rules in order with v1 semantics: "a *:* rwm" resets
// the default and drops all exceptions; a rule against the default adds (or
// widens) an exception for exactly that type/major/minor; a rule agreeing
// with the default narrows such an exception. A new v1 cgroup inherits its
// parent's allow-all, so that is the starting point.
func reduceRules(rules []devRule) devPolicy {
	p := devPolicy{defaultAllow: true}
	for _, r := range rules {
		if r.typ == 'a' && r.major < 0 && r.minor < 0 && r.access == accAll {
			p = devPolicy{defaultAllow: r.allow}
			continue
		}
		i := -1
		for n, e := range p.exceptions {
			if e.typ == r.typ && e.major == r.major && e.minor == r.minor {
				i = n
				break
			}
		}
		switch {
		case r.allow != p.defaultAllow && i >= 0:
			p.exceptions[i].access |= r.access
		case r.allow != p.defaultAllow:
			p.exceptions = append(p.exceptions, r)
		case i >= 0:
			p.exceptions[i].access &^= r.access
			if p.exceptions[i].access == 0 {
				p.exceptions = append(p.exceptions[:i], p.exceptions[i+1:]...)
			}
		}
	}
	return p
}

// deviceFilter compiles rules into a cgroup device program. Registers:
// r2 = device type, r3 = requested access, r4 = major, r5 = minor.
//
// With a default deny, an allow exception matches when it grants every
// requested access bit; with a default allow, a deny exception matches when
// it covers any requested bit (as the v1 controller's partial match).
func deviceFilter(specRules []specs.LinuxDeviceCgroup) (program, error) {
	rules := make([]devRule, 0, len(specRules))
	for _, d := range specRules {
		r, err := convertRule(d)
		if err != nil {
			return nil, err
		}
		rules = append(rules, r)
	}
	pol := reduceRules(rules)
	verdict := func(allow bool) int32 {
		if allow {
			return 1
		}
		return 0
	}

	a := newAsm()
	a.emit(insn{op: opLdxMemW, dst: 2, src: 1, off: 0}) // access_type
	a.emit(insn{op: opAnd32Imm, dst: 2, imm: 0xffff})   // low 16 bits: type
	a.emit(insn{op: opLdxMemW, dst: 3, src: 1, off: 0})
	a.emit(insn{op: opRsh32Imm, dst: 3, imm: 16})       // high 16 bits: access
	a.emit(insn{op: opLdxMemW, dst: 4, src: 1, off: 4}) // major
	a.emit(insn{op: opLdxMemW, dst: 5, src: 1, off: 8}) // minor
	for n, e := range pol.exceptions {
		next := fmt.Sprintf("rule%d", n+1)
		switch e.typ {
		case 'b':
			a.jump(opJneImm, 2, 0, devBlock, next)
		case 'c':
			a.jump(opJneImm, 2, 0, devChar, next)
		}
		if e.major >= 0 {
			a.jump(opJneImm, 4, 0, int32(e.major), next)
		}
		if e.minor >= 0 {
			a.jump(opJneImm, 5, 0, int32(e.minor), next)
		}
		if e.access != accAll {
			a.emit(insn{op: opMov32Reg, dst: 1, src: 3})
			a.emit(insn{op: opAnd32Imm, dst: 1, imm: int32(e.access)})
			if e.allow {
				a.jump(opJneReg, 1, 3, 0, next) // some requested bit not granted
			} else {
				a.jump(opJeqImm, 1, 0, 0, next) // no requested bit denied
			}
		}
		a.emit(insn{op: opMov32Imm, dst: 0, imm: verdict(e.allow)})
		a.emit(insn{op: opExit})
		a.label(next)
	}
	a.emit(insn{op: opMov32Imm, dst: 0, imm: verdict(pol.defaultAllow)})
	a.emit(insn{op: opExit})
	return a.assemble()
}

// bpf(2) attribute layouts (the leading members of union bpf_attr).
type bpfProgLoadAttr struct {
	progType           uint32
	insnCnt            uint32
	insns              uint64
	license            uint64
	logLevel           uint32
	logSize            uint32
	logBuf             uint64
	kernVersion        uint32
	progFlags          uint32
	progName           [16]byte
	progIfindex        uint32
	expectedAttachType uint32
}

type bpfAttachAttr struct {
	targetFd     uint32
	attachBpfFd  uint32
	attachType   uint32
	attachFlags  uint32
	replaceBpfFd uint32
}

type bpfQueryAttr struct {
	targetFd    uint32
	attachType  uint32
	queryFlags  uint32
	attachFlags uint32
	progIds     uint64
	progCnt     uint32
	_           uint32
}

type bpfGetFdAttr struct {
	id        uint32
	nextID    uint32
	openFlags uint32
}

// bpfCall is bpf(2), retried on EINTR, and on EAGAIN for a program load:
// the verifier gives up with EAGAIN when a signal is pending (the Go
// runtime's preemption signal is one), and the load is to be tried again.
func bpfCall(cmd uintptr, attr unsafe.Pointer, size uintptr) (int, error) {
	for try := 0; ; try++ {
		r, _, errno := unix.Syscall(unix.SYS_BPF, cmd, uintptr(attr), size)
		if errno == 0 {
			return int(r), nil
		}
		if try < 20 && (errno == unix.EINTR || (errno == unix.EAGAIN && cmd == unix.BPF_PROG_LOAD)) {
			continue
		}
		return -1, errno
	}
}

// loadProgram loads a cgroup device program and returns its fd.
func loadProgram(p program) (int, error) {
	code := p.encode()
	license := []byte("Apache\x00")
	logBuf := make([]byte, 64<<10)
	attr := bpfProgLoadAttr{
		progType: unix.BPF_PROG_TYPE_CGROUP_DEVICE,
		insnCnt:  uint32(len(p)),
		insns:    uint64(uintptr(unsafe.Pointer(&code[0]))),
		license:  uint64(uintptr(unsafe.Pointer(&license[0]))),
		logLevel: 1,
		logSize:  uint32(len(logBuf)),
		logBuf:   uint64(uintptr(unsafe.Pointer(&logBuf[0]))),
	}
	copy(attr.progName[:], "teu_devices")
	fd, err := bpfCall(unix.BPF_PROG_LOAD, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if errors.Is(err, unix.EPERM) {
		// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK.
		if unix.Setrlimit(unix.RLIMIT_MEMLOCK, &unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}) == nil {
			fd, err = bpfCall(unix.BPF_PROG_LOAD, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
		}
	}
	runtime.KeepAlive(code)
	runtime.KeepAlive(license)
	if err != nil {
		msg := string(logBuf[:clen(logBuf)])
		if msg != "" {
			return -1, fmt.Errorf("load device filter: %w (verifier: %s)", err, msg)
		}
		return -1, fmt.Errorf("load device filter: %w", err)
	}
	return fd, nil
}

func clen(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return len(b)
}

// attachedPrograms returns fds of the device programs attached directly to
// the cgroup (the caller closes them).
func attachedPrograms(cg int) ([]int, error) {
	ids := make([]uint32, 64)
	attr := bpfQueryAttr{
		targetFd:   uint32(cg),
		attachType: unix.BPF_CGROUP_DEVICE,
		progIds:    uint64(uintptr(unsafe.Pointer(&ids[0]))),
		progCnt:    uint32(len(ids)),
	}
	if _, err := bpfCall(unix.BPF_PROG_QUERY, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); err != nil {
		return nil, fmt.Errorf("query device programs: %w", err)
	}
	runtime.KeepAlive(ids)
	var fds []int
	for _, id := range ids[:attr.progCnt] {
		g := bpfGetFdAttr{id: id}
		fd, err := bpfCall(unix.BPF_PROG_GET_FD_BY_ID, unsafe.Pointer(&g), unsafe.Sizeof(g))
		if err != nil {
			if errors.Is(err, unix.ENOENT) { // detached meanwhile
				continue
			}
			for _, f := range fds {
				unix.Close(f)
			}
			return nil, fmt.Errorf("get device program %d: %w", id, err)
		}
		fds = append(fds, fd)
	}
	return fds, nil
}

// setDevices compiles the rules and attaches the program to the cgroup
// dir, replacing the program an earlier Set attached. With one program
// attached (the usual update) the kernel swaps it for the new one in a
// single step (BPF_F_REPLACE, Linux 5.6+). Otherwise the new one is
// attached before the old ones go, so for a moment both apply (the
// stricter of the two). Either way there is no window without a filter.
func setDevices(dir string, rules []specs.LinuxDeviceCgroup) error {
	p, err := deviceFilter(rules)
	if err != nil {
		return err
	}
	cg, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open cgroup for device filter: %w", err)
	}
	defer unix.Close(cg)
	old, err := attachedPrograms(cg)
	if err != nil {
		return err
	}
	defer func() {
		for _, fd := range old {
			unix.Close(fd)
		}
	}()
	fd, err := loadProgram(p)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if len(old) == 1 {
		replace := bpfAttachAttr{targetFd: uint32(cg), attachBpfFd: uint32(fd), attachType: unix.BPF_CGROUP_DEVICE,
			attachFlags: unix.BPF_F_ALLOW_MULTI | unix.BPF_F_REPLACE, replaceBpfFd: uint32(old[0])}
		_, err := bpfCall(unix.BPF_PROG_ATTACH, unsafe.Pointer(&replace), unsafe.Sizeof(replace))
		if err == nil {
			return nil
		}
		// EINVAL: a kernel before BPF_F_REPLACE; ENOENT: the old one was
		// detached meanwhile. Attach, then detach what is left.
		if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("replace device filter of %s: %w", dir, err)
		}
	}
	attach := bpfAttachAttr{targetFd: uint32(cg), attachBpfFd: uint32(fd),
		attachType: unix.BPF_CGROUP_DEVICE, attachFlags: unix.BPF_F_ALLOW_MULTI}
	if _, err := bpfCall(unix.BPF_PROG_ATTACH, unsafe.Pointer(&attach), unsafe.Sizeof(attach)); err != nil {
		return fmt.Errorf("attach device filter to %s: %w", dir, err)
	}
	for _, ofd := range old {
		detach := bpfAttachAttr{targetFd: uint32(cg), attachBpfFd: uint32(ofd), attachType: unix.BPF_CGROUP_DEVICE}
		if _, err := bpfCall(unix.BPF_PROG_DETACH, unsafe.Pointer(&detach), unsafe.Sizeof(detach)); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("detach old device filter from %s: %w", dir, err)
		}
	}
	return nil
}

// devicesSupported reports whether this process may load BPF programs at
// all (unit tests skip the load check otherwise).
func devicesSupported() bool { return os.Geteuid() == 0 }
