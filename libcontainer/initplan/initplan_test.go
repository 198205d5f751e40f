package initplan

import (
	"encoding/binary"
	"os"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/plan"
	"github.com/teu-runtime/teu/libcontainer/seccomp"
)

func procSpec1() *specs.Spec {
	caps := []string{"CAP_KILL", "CAP_NET_BIND_SERVICE"}
	return &specs.Spec{
		Process: &specs.Process{Args: []string{"sh"}, Cwd: "/work", Env: []string{"PATH=/bin"},
			User:         specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10}},
			Capabilities: &specs.LinuxCapabilities{Bounding: caps, Permitted: caps, Effective: caps},
			Rlimits:      []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 64, Hard: 64}}},
		Linux: &specs.Linux{},
	}
}

// ops lists the ops of b's steps, in order.
func ops(b *plan.Builder) []plan.Op {
	var out []plan.Op
	for _, s := range b.Steps() {
		out = append(out, s.Op)
	}
	return out
}

func index(list []plan.Op, op plan.Op, nth int) int {
	for i, o := range list {
		if o == op {
			if nth == 0 {
				return i
			}
			nth--
		}
	}
	return -1
}

func compileProc(t *testing.T, s *specs.Spec, exec bool) *plan.Builder {
	t.Helper()
	var bpf []byte
	if s.Linux.Seccomp != nil {
		prog, err := seccomp.Program(s.Linux.Seccomp, false)
		if err != nil {
			t.Fatal(err)
		}
		bpf = seccomp.Encode(prog)
	}
	b := &plan.Builder{}
	err := Process(b, &ProcOpts{Spec: s, Exec: exec, Home: "/home/u", Path: "/bin/sh", BPF: bpf, ProcSlot: 1, FifoSlot: 0,
		State: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&plan.Part{Steps: b.Steps()}).Encode(); err != nil {
		t.Fatal(err)
	}
	return b
}

// The order of the process part: rlimits raised first, ids after the
// capability bounding set, the exact rlimits right before execve, the wait
// on exec.fifo after ready, HOME added when the env has none.
func TestProcessOrder(t *testing.T) {
	b := compileProc(t, procSpec1(), false)
	o := ops(b)
	raise, setres, bound := index(o, plan.OpRlimit, 0), index(o, plan.OpSetresid, 0), index(o, plan.OpCapBounding, 0)
	ready, fifo, late, exec := index(o, plan.OpReady, 0), index(o, plan.OpFifoWait, 0), index(o, plan.OpRlimit, 1), index(o, plan.OpExec, 0)
	if !(raise < bound && bound < setres && setres < ready && ready < fifo && fifo < late && late < exec) {
		t.Fatalf("steps out of order:\n%s", b.Listing())
	}
	if st := b.Step(raise); st.Args[3].Int != 1 || b.Step(late).Args[3].Int != 0 || !b.Step(late).Late {
		t.Fatalf("rlimits: early must only raise, late must set and describe itself:\n%s", b.Listing())
	}
	if env := string(b.Step(exec).Args[2].Bytes); !strings.Contains(env, "HOME=/home/u\x00") {
		t.Fatalf("env %q lacks HOME", env)
	}
	// cwd is entered as root and checked; refused, the executor takes the
	// second copy of the middle part, which enters it as the user.
	first := index(o, plan.OpChdir, 0)
	cd := b.Step(first)
	retry := first + 1 + cd.SkipAlt
	if len(cd.AltErrnos) != 2 || o[first+1] != plan.OpCheckCwd || o[retry-1] != plan.OpNop {
		t.Fatalf("first chdir: %+v\n%s", cd, b.Listing())
	}
	if second := index(o, plan.OpChdir, 1); second < retry || index(o[retry:], plan.OpSetresid, 0)+retry > second {
		t.Fatalf("the retry does not enter the cwd after the switch of user:\n%s", b.Listing())
	}
	if nop := b.Step(retry - 1); retry+nop.SkipOK != index(o, plan.OpUmask, 0) {
		t.Fatalf("the nop does not skip the retry:\n%s", b.Listing())
	}
}

func TestSeccompPoints(t *testing.T) {
	s := procSpec1()
	s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActErrno}}}
	// Without no_new_privs: before the switch of credentials (loading
	// needs CAP_SYS_ADMIN then).
	o := ops(compileProc(t, s, false))
	if index(o, plan.OpSeccomp, 0) > index(o, plan.OpSetresid, 0) {
		t.Fatal("seccomp not before credentials without no_new_privs")
	}
	// With it: as late as the sync socket is open, before "ready", so
	// that startContainer hooks run filtered (as runc's).
	s.Process.NoNewPrivileges = true
	s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/true"}}}
	o = ops(compileProc(t, s, false))
	if sc := index(o, plan.OpSeccomp, 0); sc < index(o, plan.OpSetresid, 0) || sc > index(o, plan.OpReady, 0) || sc > index(o, plan.OpHook, 0) {
		t.Fatal("seccomp not after credentials and before ready and the hooks with no_new_privs")
	}
	s.Hooks = nil
	// A filter that denies prlimit64: the rlimits go on before it.
	s.Linux.Seccomp.Syscalls = append(s.Linux.Seccomp.Syscalls, specs.LinuxSyscall{Names: []string{"prlimit64"}, Action: specs.ActErrno})
	o = ops(compileProc(t, s, false))
	if index(o, plan.OpRlimit, 1) > index(o, plan.OpSeccomp, 0) {
		t.Fatal("rlimits not before a filter that denies prlimit64")
	}
}

func TestCredentials(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: capabilities the runtime does not hold are dropped")
	}
	s := procSpec1()
	// An ambient capability that is not inheritable is dropped (runc
	// warns), an unknown one ignored.
	s.Process.Capabilities.Ambient = []string{"CAP_KILL", "CAP_NOPE"}
	b := compileProc(t, s, true)
	o := ops(b)
	if amb := b.Step(index(o, plan.OpAmbient, 0)); amb.Args[0].Int != 0 {
		t.Fatalf("ambient %#x, want none", amb.Args[0].Int)
	}
	if cs := b.Step(index(o, plan.OpCapset, 0)); cs.Args[0].Int != 1<<unix.CAP_KILL|1<<unix.CAP_NET_BIND_SERVICE {
		t.Fatalf("capset %+v", cs.Args)
	}
	if g := b.Step(index(o, plan.OpSetgroups, 0)); len(g.Args[0].Bytes) != 4 || len(g.AltErrnos) != 0 {
		t.Fatalf("setgroups %+v", g)
	}
	if index(o, plan.OpReady, 0) >= 0 || index(o, plan.OpFifoWait, 0) >= 0 {
		t.Fatal("exec's process has no exec.fifo")
	}
	// In a user namespace an empty group list may meet a denied setgroups.
	s.Process.User.AdditionalGids = nil
	b = &plan.Builder{}
	if err := Process(b, &ProcOpts{Spec: s, Exec: true, Home: "/", Path: "/bin/sh", ProcSlot: 1, Userns: true}); err != nil {
		t.Fatal(err)
	}
	if g := b.Step(index(ops(b), plan.OpSetgroups, 0)); len(g.AltErrnos) != 1 || g.AltErrnos[0] != int(unix.EPERM) {
		t.Fatalf("setgroups in a user namespace: %+v", g)
	}
	// Denied and asked for groups: an error at compile time.
	s.Process.User.AdditionalGids = []uint32{5}
	if err := Process(&plan.Builder{}, &ProcOpts{Spec: s, Exec: true, Path: "/bin/sh", SetgroupsDenied: true}); err == nil {
		t.Fatal("additionalGids with setgroups denied compiled")
	}
}

// Namespaces the joined user namespace owns are joined after it, the
// others before; the process becomes root of the joined namespace.
func TestJoinOrder(t *testing.T) {
	b := &plan.Builder{}
	Boot(b, &BootOpts{RootSlot: -1, Joins: []NsJoin{
		{Slot: 1, Type: unix.CLONE_NEWNET},
		{Slot: 2, Type: unix.CLONE_NEWUSER},
		{Slot: 3, Type: unix.CLONE_NEWNS, OwnedByUser: true},
	}})
	var got []string
	for _, s := range b.Steps() {
		if s.Op == plan.OpSetns || s.Op == plan.OpSetresid {
			got = append(got, s.Desc)
		}
	}
	want := "setns net namespace,setns user namespace,become root in the user namespace,setns mnt namespace"
	if strings.Join(got, ",") != want {
		t.Fatalf("join order %q, want %q", strings.Join(got, ","), want)
	}
	if o := ops(b); o[len(o)-2] != plan.OpFork || o[len(o)-1] != plan.OpContinue || o[0] != plan.OpDumpable {
		t.Fatalf("boot part: %v", o)
	}
}

// A new user namespace: the id maps are written while we are dumpable,
// and we are not dumpable again before anything else.
func TestNewUserns(t *testing.T) {
	b := &plan.Builder{}
	adj := 100
	Boot(b, &BootOpts{RootSlot: -1, OOMScoreAdj: &adj, Clone: unix.CLONE_NEWUSER | unix.CLONE_NEWPID, CgroupSync: true})
	l := b.Listing()
	for _, want := range []string{
		`write "/proc/self/oom_score_adj"`, "dumpable 0", "unshare 268435456", "dumpable 1", "sync 1", "sync 2", "sync 3",
		"setresid 0 0", "fork",
	} {
		if !strings.Contains(l, want) {
			t.Errorf("boot part lacks %q:\n%s", want, l)
		}
	}
	if strings.Index(l, "write") > strings.Index(l, "dumpable 0") || strings.Index(l, "sync 1") > strings.LastIndex(l, "dumpable 0") {
		t.Errorf("dumpable order:\n%s", l)
	}
}

// The environment as runc makes it: last duplicate wins in its place, an
// empty HOME is none, a missing one comes from /etc/passwd.
func TestProcessEnv(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{"A=1", "B=2", "A=3"}, "B=2 A=3 HOME=/h"},
		{[]string{"HOME=", "X=1"}, "X=1 HOME=/h"},
		{[]string{"HOME=/root", "HOME="}, "HOME=/h"}, // as runc: the last one, empty, counts
		{[]string{"HOME=/x"}, "HOME=/x"},
	} {
		got, err := processEnv(tc.in, "/h")
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("processEnv(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range [][]string{{"NOEQUALS"}, {"=x"}} {
		if _, err := processEnv(bad, "/"); err == nil {
			t.Errorf("processEnv(%q) accepted", bad)
		}
	}
	if NeedsHome([]string{"HOME=/a"}) || !NeedsHome([]string{"HOME=/a", "HOME="}) || !NeedsHome(nil) {
		t.Error("NeedsHome")
	}
}

func TestSchedAttr(t *testing.T) {
	sc := &specs.Scheduler{Policy: specs.SchedDeadline, Nice: -3, Priority: 7, Runtime: 10, Deadline: 20, Period: 30,
		Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork}}
	b := schedAttr(sc)
	le := binary.LittleEndian
	if len(b) != 56 || le.Uint32(b) != 56 {
		t.Fatalf("sched_attr of %d bytes, size field %d", len(b), le.Uint32(b))
	}
	if le.Uint32(b[4:]) != 6 || le.Uint64(b[8:]) != 1 || int32(le.Uint32(b[16:])) != -3 || le.Uint32(b[20:]) != 7 ||
		le.Uint64(b[24:]) != 10 || le.Uint64(b[32:]) != 20 || le.Uint64(b[40:]) != 30 || le.Uint32(b[52:]) != 1024 {
		t.Errorf("sched_attr = %v", b)
	}
}

// The executor is the init wherever nothing needs a child of it: the pid
// namespace is then the spawn's, and no step forks.
func TestNoFork(t *testing.T) {
	common := uint32(unix.CLONE_NEWNS | unix.CLONE_NEWNET | unix.CLONE_NEWPID | unix.CLONE_NEWCGROUP)
	for _, tc := range []struct {
		name string
		o    BootOpts
		want bool
	}{
		{"new namespaces", BootOpts{Clone: common}, true},
		{"host pid namespace", BootOpts{Clone: unix.CLONE_NEWNS}, true},
		{"joined net namespace", BootOpts{Clone: common, Joins: []NsJoin{{Type: unix.CLONE_NEWNET}}}, true},
		{"new user namespace", BootOpts{Clone: common | unix.CLONE_NEWUSER}, false},
		{"joined user namespace", BootOpts{Clone: common, Joins: []NsJoin{{Type: unix.CLONE_NEWUSER}}}, false},
		{"new time namespace", BootOpts{Clone: common | unix.CLONE_NEWTIME}, false},
		{"joined pid namespace", BootOpts{Clone: unix.CLONE_NEWNS, Joins: []NsJoin{{Type: unix.CLONE_NEWPID}}}, false},
		{"joined time namespace", BootOpts{Clone: unix.CLONE_NEWNS, Joins: []NsJoin{{Type: unix.CLONE_NEWTIME}}}, false},
	} {
		if got := NoFork(&tc.o); got != tc.want {
			t.Errorf("%s: NoFork %v, want %v", tc.name, got, tc.want)
		}
	}
	b := &plan.Builder{}
	Boot(b, &BootOpts{RootSlot: -1, Clone: common, CgroupSync: true, NoFork: true})
	l := b.Listing()
	for _, want := range []string{"unshare namespaces mnt,net\n", "sync 2", "unshare cgroup namespace", "sync 3", "sync 9  # report the init"} {
		if !strings.Contains(l, want) {
			t.Errorf("boot part lacks %q:\n%s", want, l)
		}
	}
	if o := ops(b); slices.Contains(o, plan.OpFork) || o[len(o)-1] != plan.OpContinue {
		t.Errorf("boot part: %v", o)
	}
}
