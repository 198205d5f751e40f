package seccomp

// The ENOSYS prefix.
//
// A profile lists the syscalls someone knew of when writing it. A newer
// libc tries new syscalls first (clone3, faccessat2, openat2, ...) and falls
// back to older ones on ENOSYS, but not on EPERM, which a deny-by-default
// profile would return. So, for each architecture of the filter whose audit
// value teu knows (below), a short cBPF prefix returns ENOSYS for every
// syscall number above the highest number, on that architecture, of any
// syscall the profile names (and libseccomp knows). Everything else, and
// every other architecture, falls through to libseccomp's program, which
// follows the prefix. Numbers at or below that highest one keep the
// profile's default action: those syscalls existed when the profile was
// written and were left out on purpose.
//
// The prefix is only added when the default action denies (ERRNO, TRAP,
// KILL_*): with ALLOW, LOG, TRACE or NOTIFY as the default, an unknown
// syscall is not meant to fail.
//
// x32 syscalls share AUDIT_ARCH_X86_64 with x86_64 and are told apart by
// bit 30 of the number (__X32_SYSCALL_BIT), so that arch gets one block
// that checks the bit first.
//
// Layout (classic BPF, seccomp_data: nr at offset 0, arch at offset 4):
//
//	    ld  [arch]
//	a0: jeq #AUDIT_0, 0, a1      ; one block per architecture
//	    ld  [nr]
//	    jgt #max_0, enosys, main
//	a1: ...
//	an: ja  main
//	enosys: ret #SECCOMP_RET_ERRNO|ENOSYS
//	main: libseccomp's program

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

const (
	offNr     = 0 // offsetof(struct seccomp_data, nr)
	offArch   = 4 // offsetof(struct seccomp_data, arch)
	x32Bit    = 0x40000000
	retEnosys = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
)

// auditArch is the AUDIT_ARCH_* value the kernel puts in seccomp_data.arch.
var auditArch = map[libseccomp.ScmpArch]uint32{
	libseccomp.ArchX86: unix.AUDIT_ARCH_I386, libseccomp.ArchAMD64: unix.AUDIT_ARCH_X86_64,
	libseccomp.ArchX32: unix.AUDIT_ARCH_X86_64, libseccomp.ArchARM: unix.AUDIT_ARCH_ARM,
	libseccomp.ArchARM64: unix.AUDIT_ARCH_AARCH64, libseccomp.ArchRISCV64: unix.AUDIT_ARCH_RISCV64,
	libseccomp.ArchS390: unix.AUDIT_ARCH_S390, libseccomp.ArchS390X: unix.AUDIT_ARCH_S390X,
	libseccomp.ArchPPC: unix.AUDIT_ARCH_PPC, libseccomp.ArchPPC64: unix.AUDIT_ARCH_PPC64,
	libseccomp.ArchPPC64LE: unix.AUDIT_ARCH_PPC64LE, libseccomp.ArchLOONGARCH64: unix.AUDIT_ARCH_LOONGARCH64,
}

// archMax is one block of the prefix: the highest known syscall number of
// the profile on an architecture, or -1 for none. Only AUDIT_ARCH_X86_64
// has an x32 half.
type archMax struct {
	audit       uint32
	max, maxX32 int64
}

// insn is a cBPF instruction whose jumps name labels ("" is the next
// instruction); ja takes its target from jt.
type insn struct {
	label  string
	code   uint16
	k      uint32
	jt, jf string
}

// enosysStub is the prefix for s, or nil when s needs none.
func enosysStub(s *specs.LinuxSeccomp) ([]unix.SockFilter, error) {
	switch s.DefaultAction {
	case specs.ActAllow, specs.ActLog, specs.ActTrace, specs.ActNotify:
		return nil, nil
	}
	native, err := libseccomp.GetNativeArch()
	if err != nil {
		return nil, fmt.Errorf("seccomp: native architecture: %w", err)
	}
	list := []libseccomp.ScmpArch{native}
	for _, a := range s.Architectures {
		list = append(list, arches[a])
	}
	var blocks []*archMax
	byAudit := map[uint32]*archMax{}
	for _, a := range list {
		audit, ok := auditArch[a]
		if !ok {
			continue
		}
		b := byAudit[audit]
		if b == nil {
			b = &archMax{audit: audit, max: -1, maxX32: -1}
			byAudit[audit] = b
			blocks = append(blocks, b)
		}
		nrs := knownNumbers(s, a)
		if len(nrs) == 0 {
			continue
		}
		if a == libseccomp.ArchX32 {
			b.maxX32 = int64(nrs[len(nrs)-1]) | x32Bit
		} else {
			b.max = int64(nrs[len(nrs)-1])
		}
	}
	return stubFor(blocks)
}

// stubFor assembles the prefix for blocks.
func stubFor(blocks []*archMax) ([]unix.SockFilter, error) {
	var code []insn
	emit := func(i insn) { code = append(code, i) }
	cmp := func(label string, max int64) {
		if max < 0 {
			emit(insn{label: label, code: unix.BPF_JMP | unix.BPF_JA, jt: "main"})
			return
		}
		emit(insn{label: label, code: unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K, k: uint32(max), jt: "enosys", jf: "main"})
	}
	emit(insn{code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, k: offArch})
	n := 0
	for _, b := range blocks {
		if b.max < 0 && b.maxX32 < 0 {
			continue
		}
		here, next := fmt.Sprintf("a%d", n), fmt.Sprintf("a%d", n+1)
		n++
		emit(insn{label: here, code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, k: b.audit, jf: next})
		emit(insn{code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, k: offNr})
		if b.audit == unix.AUDIT_ARCH_X86_64 {
			x32 := here + "x32"
			emit(insn{code: unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K, k: x32Bit, jt: x32})
			cmp("", b.max)
			cmp(x32, b.maxX32)
		} else {
			cmp("", b.max)
		}
	}
	if n == 0 {
		return nil, nil
	}
	emit(insn{label: fmt.Sprintf("a%d", n), code: unix.BPF_JMP | unix.BPF_JA, jt: "main"})
	emit(insn{label: "enosys", code: unix.BPF_RET | unix.BPF_K, k: retEnosys})
	return assemble(code)
}

// assemble resolves the labels of code; "main" is the instruction after it.
func assemble(code []insn) ([]unix.SockFilter, error) {
	at := map[string]int{"main": len(code)}
	for i, in := range code {
		if in.label != "" {
			at[in.label] = i
		}
	}
	off := func(from int, label string) (int, error) {
		if label == "" {
			return 0, nil
		}
		to, ok := at[label]
		if !ok || to <= from {
			return 0, fmt.Errorf("seccomp: bad jump to %q", label)
		}
		return to - from - 1, nil
	}
	prog := make([]unix.SockFilter, len(code))
	for i, in := range code {
		f := unix.SockFilter{Code: in.code, K: in.k}
		jt, err := off(i, in.jt)
		if err != nil {
			return nil, err
		}
		jf, err := off(i, in.jf)
		if err != nil {
			return nil, err
		}
		if in.code == unix.BPF_JMP|unix.BPF_JA {
			f.K = uint32(jt)
		} else {
			if jt > 255 || jf > 255 {
				return nil, fmt.Errorf("seccomp: jump too long in ENOSYS prefix")
			}
			f.Jt, f.Jf = uint8(jt), uint8(jf)
		}
		prog[i] = f
	}
	return prog, nil
}
