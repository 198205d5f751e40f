package seccomp

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

func uptr(v uint) *uint { return &v }

// run is Run, the interpreter the init asks before it loads a filter, on
// a syscall nr of arch with args; the program tests check both at once.
func run(t *testing.T, prog []unix.SockFilter, arch uint32, nr int32, args ...uint64) uint32 {
	t.Helper()
	c := &Call{Nr: nr, Arch: arch}
	copy(c.Args[:], args)
	ret, err := Run(prog, c)
	if err != nil {
		t.Fatal(err)
	}
	return ret
}

func nr(t *testing.T, name string, arch libseccomp.ScmpArch) int32 {
	t.Helper()
	n, err := libseccomp.GetSyscallFromNameByArch(name, arch)
	if err != nil {
		t.Fatalf("%s on %v: %v", name, arch, err)
	}
	return int32(n)
}

const (
	retAllow = unix.SECCOMP_RET_ALLOW
	retEPERM = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
)

func amd64Only(t *testing.T) {
	if a, _ := libseccomp.GetNativeArch(); a != libseccomp.ArchAMD64 {
		t.Skip("the emulated tests use x86_64 numbers")
	}
}

func TestProgramActionsAndErrno(t *testing.T) {
	amd64Only(t)
	s := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno},
			{Names: []string{"chdir"}, Action: specs.ActErrno, ErrnoRet: uptr(uint(unix.ENOTDIR))},
			{Names: []string{"acct"}, Action: specs.ActKillProcess},
			{Names: []string{"sync"}, Action: specs.ActKill},
			{Names: []string{"syncfs"}, Action: specs.ActKillThread},
			{Names: []string{"uname"}, Action: specs.ActLog},
			{Names: []string{"getcwd"}, Action: specs.ActTrap},
			{Names: []string{"umask"}, Action: specs.ActTrace, ErrnoRet: uptr(7)},
			{Names: []string{"ioprio_get"}, Action: specs.ActNotify},
			{Names: []string{"no_such_syscall", "getpid"}, Action: specs.ActErrno, ErrnoRet: uptr(99)},
		},
	}
	prog, err := Program(s, false)
	if err != nil {
		t.Fatal(err)
	}
	a := uint32(unix.AUDIT_ARCH_X86_64)
	for _, c := range []struct {
		name string
		want uint32
	}{
		{"mkdir", retEPERM},
		{"mkdirat", retEPERM},
		{"chdir", unix.SECCOMP_RET_ERRNO | uint32(unix.ENOTDIR)},
		{"acct", unix.SECCOMP_RET_KILL_PROCESS},
		{"sync", unix.SECCOMP_RET_KILL_THREAD},
		{"syncfs", unix.SECCOMP_RET_KILL_THREAD},
		{"uname", unix.SECCOMP_RET_LOG},
		{"getcwd", unix.SECCOMP_RET_TRAP},
		{"umask", unix.SECCOMP_RET_TRACE | 7},
		{"ioprio_get", unix.SECCOMP_RET_USER_NOTIF},
		{"getpid", unix.SECCOMP_RET_ERRNO | 99},
		{"read", retAllow},
	} {
		if got := run(t, prog, a, nr(t, c.name, libseccomp.ArchAMD64)); got != c.want {
			t.Errorf("%s: got %#x, want %#x", c.name, got, c.want)
		}
	}
	// Default allow: no ENOSYS prefix, a new syscall is allowed.
	if got := run(t, prog, a, 1000); got != retAllow {
		t.Errorf("syscall 1000 under default allow: got %#x", got)
	}
	if !HasNotify(s) {
		t.Error("HasNotify is false")
	}
}

func TestProgramArgs(t *testing.T) {
	amd64Only(t)
	s := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			// One check: only personality(0xffffffff) is denied.
			{Names: []string{"personality"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpEqualTo, Value: 0xffffffff}}},
			// Two indexes: AND.
			{Names: []string{"kill"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{
				{Index: 0, Op: specs.OpGreaterThan, Value: 100}, {Index: 1, Op: specs.OpEqualTo, Value: 9}}},
			// The same index twice: OR.
			{Names: []string{"socket"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{
				{Index: 0, Op: specs.OpEqualTo, Value: 1}, {Index: 0, Op: specs.OpEqualTo, Value: 10}}},
			{Names: []string{"clone"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{
				{Index: 0, Op: specs.OpMaskedEqual, Value: unix.CLONE_NEWUSER, ValueTwo: unix.CLONE_NEWUSER}}},
			{Names: []string{"setuid"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpNotEqual, Value: 0}}},
			{Names: []string{"setgid"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpLessThan, Value: 10}}},
			{Names: []string{"setfsuid"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpLessEqual, Value: 10}}},
			{Names: []string{"setfsgid"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpGreaterEqual, Value: 10}}},
		},
	}
	prog, err := Program(s, false)
	if err != nil {
		t.Fatal(err)
	}
	a := uint32(unix.AUDIT_ARCH_X86_64)
	for _, c := range []struct {
		name string
		args []uint64
		want uint32
	}{
		{"personality", []uint64{0xffffffff}, retEPERM},
		{"personality", []uint64{0}, retAllow},
		{"personality", []uint64{8}, retAllow},
		{"kill", []uint64{200, 9}, retEPERM},
		{"kill", []uint64{200, 15}, retAllow},
		{"kill", []uint64{50, 9}, retAllow},
		{"socket", []uint64{1}, retEPERM},
		{"socket", []uint64{10}, retEPERM},
		{"socket", []uint64{2}, retAllow},
		{"clone", []uint64{unix.CLONE_NEWUSER | unix.CLONE_NEWNS}, retEPERM},
		{"clone", []uint64{unix.CLONE_NEWNS}, retAllow},
		{"setuid", []uint64{5}, retEPERM},
		{"setuid", []uint64{0}, retAllow},
		{"setgid", []uint64{9}, retEPERM},
		{"setgid", []uint64{10}, retAllow},
		{"setfsuid", []uint64{10}, retEPERM},
		{"setfsuid", []uint64{11}, retAllow},
		{"setfsgid", []uint64{10}, retEPERM},
		{"setfsgid", []uint64{9}, retAllow},
	} {
		if got := run(t, prog, a, nr(t, c.name, libseccomp.ArchAMD64), c.args...); got != c.want {
			t.Errorf("%s%v: got %#x, want %#x", c.name, c.args, got, c.want)
		}
	}
}

func TestConditionsGrouping(t *testing.T) {
	g, err := conditions(nil)
	if err != nil || len(g) != 1 || len(g[0]) != 0 {
		t.Fatalf("no args: %v %v", g, err)
	}
	g, err = conditions([]specs.LinuxSeccompArg{{Index: 0, Op: specs.OpEqualTo, Value: 1}, {Index: 1, Op: specs.OpEqualTo, Value: 2}})
	if err != nil || len(g) != 1 || len(g[0]) != 2 {
		t.Fatalf("two indexes should make one rule: %v %v", g, err)
	}
	g, err = conditions([]specs.LinuxSeccompArg{{Index: 0, Op: specs.OpEqualTo, Value: 1}, {Index: 1, Op: specs.OpEqualTo, Value: 2}, {Index: 0, Op: specs.OpEqualTo, Value: 3}})
	if err != nil || len(g) != 3 {
		t.Fatalf("a repeated index should make one rule per check: %v %v", g, err)
	}
	if g, err := conditions([]specs.LinuxSeccompArg{{Index: 0, Op: "SCMP_CMP_XX"}}); err == nil {
		t.Fatalf("bad op accepted: %v", g)
	}
}

// allowList is a deny-by-default profile that allows names.
func allowList(names ...string) *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{DefaultAction: specs.ActErrno,
		Syscalls: []specs.LinuxSyscall{{Names: names, Action: specs.ActAllow}}}
}

func TestEnosysPrefix(t *testing.T) {
	amd64Only(t)
	a := uint32(unix.AUDIT_ARCH_X86_64)
	s := allowList("read", "write", "openat", "fchmodat2_is_not_known_here")
	prog, err := Program(s, false)
	if err != nil {
		t.Fatal(err)
	}
	openat := nr(t, "openat", libseccomp.ArchAMD64) // 257, the highest
	for _, c := range []struct {
		nr   int32
		want uint32
	}{
		{nr(t, "read", libseccomp.ArchAMD64), retAllow},
		{openat, retAllow},
		{nr(t, "mkdir", libseccomp.ArchAMD64), retEPERM},   // older than openat: default
		{nr(t, "clone3", libseccomp.ArchAMD64), retEnosys}, // newer: ENOSYS
		{openat + 1, retEnosys},
		{1000, retEnosys},
		{-1, retEPERM},                         // bit 30 set: the x32 half, not in this filter; libseccomp lets -1 through
		{x32Bit, unix.SECCOMP_RET_KILL_THREAD}, // x32's syscall 0: x32 is not in the filter, libseccomp's bad arch action
	} {
		if got := run(t, prog, a, c.nr); got != c.want {
			t.Errorf("nr %d: got %#x, want %#x", c.nr, got, c.want)
		}
	}
	// An architecture not in the filter goes to libseccomp's bad arch action.
	if got := run(t, prog, unix.AUDIT_ARCH_I386, 1000); got != unix.SECCOMP_RET_KILL_THREAD {
		t.Errorf("i386 not in the filter: got %#x", got)
	}

	// With x86 and x32 added, each has its own highest number.
	s.Architectures = []specs.Arch{specs.ArchX86, specs.ArchX32}
	prog, err = Program(s, false)
	if err != nil {
		t.Fatal(err)
	}
	x86open := nr(t, "openat", libseccomp.ArchX86)
	x32open := nr(t, "openat", libseccomp.ArchX32)
	for _, c := range []struct {
		arch uint32
		nr   int32
		want uint32
	}{
		{unix.AUDIT_ARCH_I386, x86open, retAllow},
		{unix.AUDIT_ARCH_I386, x86open + 1, retEnosys},
		{unix.AUDIT_ARCH_I386, nr(t, "mkdir", libseccomp.ArchX86), retEPERM},
		{a, x32open, retAllow},
		{a, x32open + 1, retEnosys},
		{a, nr(t, "mkdir", libseccomp.ArchX32), retEPERM},
		{a, openat + 1, retEnosys},
		{unix.AUDIT_ARCH_AARCH64, 1000, unix.SECCOMP_RET_KILL_THREAD},
	} {
		if got := run(t, prog, c.arch, c.nr); got != c.want {
			t.Errorf("arch %#x nr %#x: got %#x, want %#x", c.arch, c.nr, got, c.want)
		}
	}

	// Default actions that do not deny get no prefix.
	for _, def := range []specs.LinuxSeccompAction{specs.ActAllow, specs.ActLog, specs.ActTrace} {
		s := &specs.LinuxSeccomp{DefaultAction: def, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActKillProcess}}}
		if stub, err := enosysStub(s); err != nil || stub != nil {
			t.Errorf("default %s: prefix %v, %v", def, stub, err)
		}
	}
	// Nor does a profile that names no syscall: there is nothing to be newer than.
	if stub, err := enosysStub(&specs.LinuxSeccomp{DefaultAction: specs.ActErrno}); err != nil || stub != nil {
		t.Errorf("empty profile: prefix %v, %v", stub, err)
	}
	// KILL as the default still gets it.
	s = &specs.LinuxSeccomp{DefaultAction: specs.ActKillProcess, Syscalls: []specs.LinuxSyscall{{Names: []string{"read", "openat"}, Action: specs.ActAllow}}}
	prog, err = Program(s, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := run(t, prog, a, 1000); got != retEnosys {
		t.Errorf("default kill, syscall 1000: got %#x", got)
	}
	if got := run(t, prog, a, 1); got != unix.SECCOMP_RET_KILL_PROCESS {
		t.Errorf("default kill, write: got %#x", got)
	}
}

func TestValidate(t *testing.T) {
	good := []*specs.LinuxSeccomp{
		nil,
		{DefaultAction: specs.ActAllow},
		allowList("read", "not_a_syscall_anyone_knows"),
		{DefaultAction: specs.ActErrno, DefaultErrnoRet: uptr(38), Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
			Flags: []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow, "SECCOMP_FILTER_FLAG_TSYNC"}},
		{DefaultAction: specs.ActAllow, ListenerPath: "/run/agent.sock", Flags: []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv},
			Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActNotify}}},
	}
	for i, s := range good {
		if err := Validate(s); err != nil {
			t.Errorf("good[%d]: %v", i, err)
		}
	}
	bad := []struct {
		s    specs.LinuxSeccomp
		want string
	}{
		{specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_NOPE"}, `invalid defaultAction "SCMP_ACT_NOPE"`},
		{specs.LinuxSeccomp{}, `invalid defaultAction ""`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{"SCMP_ARCH_Z80"}}, `invalid architecture "SCMP_ARCH_Z80"`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_NOPE"}}, `invalid flag "SECCOMP_FILTER_FLAG_NOPE"`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, DefaultErrnoRet: uptr(1)}, "defaultErrnoRet needs"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: "SCMP_ACT_MAYBE"}}}, `invalid action "SCMP_ACT_MAYBE"`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Action: specs.ActErrno}}}, "names is empty"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActKill, ErrnoRet: uptr(1)}}}, "errnoRet needs"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActErrno,
			Args: []specs.LinuxSeccompArg{{Index: 0, Op: "SCMP_CMP_ABOUT"}}}}}, `invalid op "SCMP_CMP_ABOUT"`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActErrno,
			Args: []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}}}}, "index 6"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActNotify}}}, "needs listenerPath"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActNotify, ListenerPath: "/x"}, "cannot be the defaultAction"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/x", Syscalls: []specs.LinuxSyscall{{Names: []string{"write"}, Action: specs.ActNotify}}}, "cannot be used for the write syscall"},
	}
	for _, c := range bad {
		err := Validate(&c.s)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want an error with %q", c.s, err, c.want)
		}
	}
}

func TestLoadFlags(t *testing.T) {
	s := &specs.LinuxSeccomp{Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_TSYNC", specs.LinuxSeccompFlagWaitKillableRecv}}
	if got := loadFlags(s, false); got != 0 {
		t.Errorf("without listener: %#x (TSYNC is ignored, WAIT_KILLABLE_RECV needs a listener)", got)
	}
	want := uintptr(unix.SECCOMP_FILTER_FLAG_NEW_LISTENER | unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)
	if got := loadFlags(s, true); got != want {
		t.Errorf("with listener: %#x, want %#x", got, want)
	}
	if got := loadFlags(&specs.LinuxSeccomp{}, false); got != unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW {
		t.Errorf("no flags field: %#x, want SPEC_ALLOW", got)
	}
	if got := loadFlags(&specs.LinuxSeccomp{Flags: []specs.LinuxSeccompFlag{}}, false); got != 0 {
		t.Errorf("an empty flags field: %#x, want 0", got)
	}
}

func TestVersion(t *testing.T) {
	v := Version()
	if strings.Count(v, ".") != 2 || strings.HasPrefix(v, "0.") {
		t.Errorf("version %q", v)
	}
}

// The kernel tests load a filter in a child (a filter cannot be removed)
// and report what raw syscalls return there.

const childEnv = "TEU_SECCOMP_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		child()
		return
	}
	os.Exit(m.Run())
}

// child loads a profile allowing every syscall numbered below 440 that
// libseccomp knows, except acct, then prints the errno of acct(NULL),
// syscall 449 and syscall 1000, and /proc/self/status's Seccomp line.
func child() {
	runtime.LockOSThread()
	var names []string
	for n := 0; n < 440; n++ {
		name, err := libseccomp.ScmpSyscall(n).GetName()
		if err == nil && name != "acct" {
			names = append(names, name)
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fmt.Println("prctl:", err)
		os.Exit(1)
	}
	if _, err := Load(allowList(names...)); err != nil {
		fmt.Println("load:", err)
		os.Exit(1)
	}
	errno := func(nr uintptr) string {
		_, _, e := unix.RawSyscall(nr, 0, 0, 0)
		return unix.ErrnoName(e)
	}
	out := errno(unix.SYS_ACCT) + " " + errno(449) + " " + errno(1000)
	data, _ := os.ReadFile("/proc/thread-self/status")
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "Seccomp:") {
			out += " " + strings.Join(strings.Fields(l), "")
		}
	}
	fmt.Println(out)
	os.Exit(0)
}

func TestLoadInKernel(t *testing.T) {
	amd64Only(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	got := strings.TrimSpace(string(out))
	if want := "EPERM ENOSYS ENOSYS Seccomp:2"; got != want {
		t.Fatalf("child said %q (%v), want %q", got, err, want)
	}
}
