package seccomp

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func stmt(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }

func jmp(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: code, Jt: jt, Jf: jf, K: k}
}

func TestRunInstructions(t *testing.T) {
	c := &Call{Nr: 7, Arch: 0xc000003e, Args: [6]uint64{0x1_0000_0002}}
	for _, tc := range []struct {
		name string
		prog []unix.SockFilter
		want uint32
	}{
		{"ret k", []unix.SockFilter{stmt(unix.BPF_RET|unix.BPF_K, 42)}, 42},
		{"nr", []unix.SockFilter{stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, 0), stmt(unix.BPF_RET|unix.BPF_A, 0)}, 7},
		{"arch", []unix.SockFilter{stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, 4), stmt(unix.BPF_RET|unix.BPF_A, 0)}, 0xc000003e},
		{"arg0 high word", []unix.SockFilter{stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, 20), stmt(unix.BPF_RET|unix.BPF_A, 0)}, 1},
		{"len", []unix.SockFilter{stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_LEN, 0), stmt(unix.BPF_RET|unix.BPF_A, 0)}, 64},
		{"alu and scratch", []unix.SockFilter{
			stmt(unix.BPF_LD|unix.BPF_IMM, 6), stmt(unix.BPF_ALU|unix.BPF_MUL|unix.BPF_K, 7), stmt(unix.BPF_ST, 3),
			stmt(unix.BPF_LDX|unix.BPF_IMM, 2), stmt(unix.BPF_LD|unix.BPF_MEM, 3), stmt(unix.BPF_ALU|unix.BPF_SUB|unix.BPF_X, 0),
			stmt(unix.BPF_RET|unix.BPF_A, 0)}, 40},
		{"jeq taken", []unix.SockFilter{
			stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, 0), jmp(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, 7, 0, 1),
			stmt(unix.BPF_RET|unix.BPF_K, 1), stmt(unix.BPF_RET|unix.BPF_K, 2)}, 1},
		{"jgt not taken, ja", []unix.SockFilter{
			stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, 0), jmp(unix.BPF_JMP|unix.BPF_JGT|unix.BPF_K, 7, 0, 1),
			stmt(unix.BPF_RET|unix.BPF_K, 1), stmt(unix.BPF_JMP|unix.BPF_JA, 1), stmt(unix.BPF_RET|unix.BPF_K, 2),
			stmt(unix.BPF_RET|unix.BPF_K, 3)}, 3},
		{"jset with x", []unix.SockFilter{
			stmt(unix.BPF_LDX|unix.BPF_IMM, 4), stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, 0),
			jmp(unix.BPF_JMP|unix.BPF_JSET|unix.BPF_X, 0, 0, 1), stmt(unix.BPF_RET|unix.BPF_K, 1), stmt(unix.BPF_RET|unix.BPF_K, 2)}, 1},
	} {
		got, err := Run(tc.prog, c)
		if err != nil || got != tc.want {
			t.Errorf("%s: got %d, %v; want %d", tc.name, got, err, tc.want)
		}
	}
}

func TestRunRefusesWhatTheKernelRefuses(t *testing.T) {
	c := &Call{}
	for name, prog := range map[string][]unix.SockFilter{
		"no return":       {stmt(unix.BPF_LD|unix.BPF_IMM, 1)},
		"load past data":  {stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, 64), stmt(unix.BPF_RET|unix.BPF_A, 0)},
		"unaligned load":  {stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, 2), stmt(unix.BPF_RET|unix.BPF_A, 0)},
		"byte load":       {stmt(unix.BPF_LD|unix.BPF_B|unix.BPF_ABS, 0), stmt(unix.BPF_RET|unix.BPF_A, 0)},
		"divide by zero":  {stmt(unix.BPF_ALU|unix.BPF_DIV|unix.BPF_K, 0), stmt(unix.BPF_RET|unix.BPF_A, 0)},
		"scratch slot 16": {stmt(unix.BPF_ST, 16), stmt(unix.BPF_RET|unix.BPF_A, 0)},
	} {
		if _, err := Run(prog, c); err == nil {
			t.Errorf("%s: ran", name)
		}
		if Allows(prog, c) {
			t.Errorf("%s: allowed", name)
		}
	}
}

// What the init asks of a profile before it loads it: may prlimit64 on
// itself go through afterwards?
func TestAllowsPrlimit(t *testing.T) {
	amd64Only(t)
	arch, err := NativeArch()
	if err != nil || arch != unix.AUDIT_ARCH_X86_64 {
		t.Fatalf("native arch %#x, %v", arch, err)
	}
	prlimit := func(s *specs.LinuxSeccomp, pid uint64) bool {
		t.Helper()
		prog, err := Program(s, false)
		if err != nil {
			t.Fatal(err)
		}
		return Allows(prog, &Call{Nr: unix.SYS_PRLIMIT64, Arch: arch, Args: [6]uint64{pid, unix.RLIMIT_AS, 0x1000}})
	}
	allow := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"mknod"}, Action: specs.ActErrno}}}
	if !prlimit(allow, 0) {
		t.Error("allow-by-default profile: prlimit64 refused")
	}
	denyPrlimit := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"prlimit64"}, Action: specs.ActKillProcess}}}
	if prlimit(denyPrlimit, 0) {
		t.Error("a profile that kills on prlimit64: allowed")
	}
	listed := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"read", "prlimit64"}, Action: specs.ActLog}}}
	if !prlimit(listed, 0) {
		t.Error("deny-by-default profile that logs prlimit64: refused")
	}
	unlisted := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"read", "write"}, Action: specs.ActAllow}}}
	if prlimit(unlisted, 0) {
		t.Error("deny-by-default profile without prlimit64: allowed")
	}
	selfOnly := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"prlimit64"}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0, Op: specs.OpEqualTo}}}}}
	if !prlimit(selfOnly, 0) || prlimit(selfOnly, 1) {
		t.Error("prlimit64 allowed for pid 0 only: the argument is not checked")
	}
	notify := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/x",
		Syscalls: []specs.LinuxSyscall{{Names: []string{"prlimit64"}, Action: specs.ActNotify}}}
	if prlimit(notify, 0) {
		t.Error("prlimit64 sent to the notify agent counts as allowed")
	}
}
