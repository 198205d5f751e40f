// Package initplan compiles the namespace and process parts of the plans
// the executor runs (libcontainer/plan, nsenter/): the first and last of
// the container's init's three parts, and exec's, around the set-up that
// the root package and rootfs compile. Every decision is made here; the
// order of the steps is the order things must happen in.
package initplan

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/affinity"
	"github.com/teu-runtime/teu/libcontainer/caps"
	"github.com/teu-runtime/teu/libcontainer/plan"
	"github.com/teu-runtime/teu/libcontainer/seccomp"
	"github.com/teu-runtime/teu/libcontainer/validate"
)

// NsJoin is a namespace to join: the slot its fd is in, its CLONE_NEW*.
type NsJoin struct {
	Slot int
	Type uint32
	// OwnedByUser: its owner is the user namespace being joined, so it is
	// joined after that one (before it, we lack the privilege; after it,
	// we would lack it for the others).
	OwnedByUser bool
}

// BootOpts is the part before the fork: namespaces.
type BootOpts struct {
	OOMScoreAdj *int
	Joins       []NsJoin
	Clone       uint32 // namespaces to create
	Timens      string // time namespace offsets
	CgroupSync  bool   // create: the parent places us in the cgroup for the cgroup namespace
	RootSlot    int    // exec without a mount namespace: chroot into the init's root (-1: none)
	// NoFork: the executor is the init. The spawn made the new pid
	// namespace (if any) with the process, so nothing needs a child: no
	// fork, and a TagInit sync where its pid would be reported (NoFork).
	NoFork bool
}

// NoFork says whether an init with these namespaces can be the executor
// itself, its pid namespace made by the spawn (unix.CLONE_NEWPID in the
// clone flags): not when it makes or joins a user namespace (made first,
// or joined, and the other namespaces must belong to it), makes a time
// namespace or joins a pid one (both apply to children only).
func NoFork(o *BootOpts) bool {
	if o.Clone&(unix.CLONE_NEWUSER|unix.CLONE_NEWTIME) != 0 {
		return false
	}
	for _, j := range o.Joins {
		switch j.Type {
		case unix.CLONE_NEWUSER, unix.CLONE_NEWPID, unix.CLONE_NEWTIME:
			return false
		}
	}
	return true
}

// Boot emits the first part: oom_score_adj while we may, then not
// dumpable until the final execve (a process of the container, even with
// CAP_SYS_PTRACE, must not ptrace us or read our fds: CVE-2016-9962),
// joins, new namespaces, and the fork that makes the init PID 1 of a new
// pid namespace (or, NoFork, the sync that reports the executor as the
// init). The part ends reading the next one.
func Boot(b *plan.Builder, o *BootOpts) {
	if o.OOMScoreAdj != nil {
		b.Addf(plan.OpWrite, []plan.Arg{plan.Str("/proc/self/oom_score_adj"), plan.Blob([]byte(fmt.Sprint(*o.OOMScoreAdj)))},
			"set oom_score_adj %d", *o.OOMScoreAdj)
	}
	b.Add("set not dumpable", plan.OpDumpable, plan.Int(0))
	var user *NsJoin
	for i := range o.Joins {
		if o.Joins[i].Type == unix.CLONE_NEWUSER {
			user = &o.Joins[i]
		}
	}
	join := func(j NsJoin) {
		b.Addf(plan.OpSetns, []plan.Arg{plan.Int(int64(j.Slot)), plan.Int(int64(j.Type))}, "setns %s namespace", nsName(j.Type))
		b.Close(j.Slot)
	}
	for _, j := range o.Joins {
		if j.Type != unix.CLONE_NEWUSER && (user == nil || !j.OwnedByUser) {
			join(j)
		}
	}
	if user != nil {
		join(*user)
		// As root of the joined namespace: mounts and device nodes need
		// it, and the process's own ids come last.
		b.Add("become root in the user namespace", plan.OpSetresid, plan.Int(0), plan.Int(0))
		for _, j := range o.Joins {
			if j.Type != unix.CLONE_NEWUSER && j.OwnedByUser {
				join(j)
			}
		}
	}
	if o.RootSlot >= 0 {
		b.Add("enter the container's root", plan.OpChroot, plan.Int(int64(o.RootSlot)))
		b.Close(o.RootSlot)
	}
	if o.Clone&unix.CLONE_NEWUSER != 0 {
		b.Add("unshare user namespace", plan.OpUnshare, plan.Int(unix.CLONE_NEWUSER))
		// An unprivileged parent writes our id maps only while our /proc
		// files are its own. No namespace of the container's can see us
		// yet (a new or joined pid namespace is for our child).
		b.Add("set dumpable for the id maps", plan.OpDumpable, plan.Int(1))
		b.Add("id maps", plan.OpSync, plan.Int(plan.TagUserns))
		b.Add("set not dumpable", plan.OpDumpable, plan.Int(0))
	}
	rest := o.Clone &^ (unix.CLONE_NEWUSER | unix.CLONE_NEWCGROUP)
	if o.NoFork {
		rest &^= unix.CLONE_NEWPID // the spawn made it
	}
	if rest != 0 {
		b.Addf(plan.OpUnshare, []plan.Arg{plan.Int(int64(rest))}, "unshare namespaces %s", nsList(rest))
	}
	// A new cgroup namespace is rooted at the cgroup we are in: the parent
	// places us in the container's for the unshare, then takes us out, so
	// that the init does its set-up outside the container's limits.
	if o.CgroupSync {
		b.Add("join the container's cgroup", plan.OpSync, plan.Int(plan.TagCgroupIn))
	}
	if o.Clone&unix.CLONE_NEWCGROUP != 0 {
		b.Add("unshare cgroup namespace", plan.OpUnshare, plan.Int(unix.CLONE_NEWCGROUP))
	}
	if o.CgroupSync {
		b.Add("leave the container's cgroup", plan.OpSync, plan.Int(plan.TagCgroupOut))
	}
	// Before any change of ids, which would make our /proc files the host
	// root's, out of reach from inside a user namespace.
	if o.Clone&unix.CLONE_NEWTIME != 0 && o.Timens != "" {
		b.Add("set time namespace offsets", plan.OpWrite, plan.Str("/proc/self/timens_offsets"), plan.Blob([]byte(o.Timens)))
	}
	if o.Clone&unix.CLONE_NEWUSER != 0 {
		b.Add("become root in the user namespace", plan.OpSetresid, plan.Int(0), plan.Int(0))
	}
	if o.NoFork {
		b.Add("report the init", plan.OpSync, plan.Int(plan.TagInit))
	} else {
		// New pid and time namespaces apply to children only.
		b.Add("fork", plan.OpFork)
	}
	b.Add("read the plan", plan.OpContinue)
}

func nsName(t uint32) string {
	for typ, f := range validate.NamespaceFlags {
		if f == t {
			return validate.NamespaceFiles[typ]
		}
	}
	return fmt.Sprintf("%#x", t)
}

func nsList(flags uint32) string {
	var names []string
	for bit := uint32(1); bit != 0; bit <<= 1 {
		if flags&bit != 0 {
			names = append(names, nsName(bit))
		}
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

// When the executor loads the seccomp filter, as runc does:
//   - without no_new_privs, loading needs CAP_SYS_ADMIN, which the switch
//     to the process's user and capabilities may take away: before it;
//   - otherwise as late as the sync socket is still open (a notify
//     listener must reach the parent), right before "ready": the wait on
//     exec.fifo, the startContainer hooks (runc's tests pin that they run
//     filtered) and the execve come after it.
const (
	seccompBeforeCredentials = iota
	seccompBeforeReady
)

func seccompPoint(s *specs.Spec) int {
	if !s.Process.NoNewPrivileges {
		return seccompBeforeCredentials
	}
	return seccompBeforeReady
}

// ProcOpts is what the process part is compiled from: the container's
// process (or exec's) and what the parent learned of the container.
type ProcOpts struct {
	Spec     *specs.Spec // Process, Linux.Seccomp/MemoryPolicy/Personality
	Exec     bool
	Preserve int      // fds 3..3+Preserve-1 pass into the container
	ExtraEnv []string // LISTEN_FDS and the like
	Home     string   // HOME when the env has none
	Path     string   // args[0] resolved in the container
	BPF      []byte   // the compiled seccomp filter
	ProcSlot int      // a verified procfs
	FifoSlot int      // create: exec.fifo (O_PATH), -1 for exec
	State    []byte   // create: the state JSON for startContainer hooks
	Trace    bool
	// Userns: the process runs in a user namespace (new or joined): it
	// holds every capability there.
	Userns bool
	// SetgroupsDenied: the user namespace denies setgroups.
	SetgroupsDenied bool
}

// Process emits the last part: the process's limits, attributes,
// labels, seccomp filter, credentials, cwd and fds, then (create) the wait
// on exec.fifo and the startContainer hooks, and the execve.
func Process(b *plan.Builder, o *ProcOpts) error {
	s := o.Spec
	p := s.Process
	b.Phase("process")
	// rlimits: raised now, while we hold CAP_SYS_RESOURCE; the exact
	// values right before execve (lowering needs no capability), so the
	// executor never runs under a container's small RLIMIT_NOFILE.
	for _, r := range p.Rlimits {
		b.Addf(plan.OpRlimit, []plan.Arg{plan.Int(int64(validate.Rlimits[r.Type])), plan.Int(int64(r.Soft)), plan.Int(int64(r.Hard)), plan.Int(1)},
			"set %s to %d/%d", r.Type, r.Soft, r.Hard)
	}
	setLimits := func(late bool) {
		for _, r := range p.Rlimits {
			b.Addf(plan.OpRlimit, []plan.Arg{plan.Int(int64(validate.Rlimits[r.Type])), plan.Int(int64(r.Soft)), plan.Int(int64(r.Hard)), plan.Int(0)},
				"set %s to %d/%d", r.Type, r.Soft, r.Hard).Late = late
		}
	}
	var prog []unix.SockFilter
	if len(o.BPF) > 0 {
		var err error
		if prog, err = seccomp.Decode(o.BPF); err != nil {
			return err
		}
	}
	point := seccompPoint(s)
	// The exact rlimits go on after the filter if it lets the very
	// prlimit64 calls through; else right before it.
	limitsFirst := len(o.BPF) > 0 && !allowsRlimits(prog, len(p.Rlimits))
	if len(o.BPF) > 0 {
		slog.Debug(fmt.Sprintf("seccomp filter flags: %d", seccomp.Flags(s.Linux.Seccomp)))
	}
	loadSeccomp := func(at int, late bool) {
		if len(o.BPF) == 0 || point != at {
			return
		}
		if limitsFirst {
			setLimits(late)
		}
		b.Add("load the seccomp filter", plan.OpSeccomp, plan.Blob(o.BPF), plan.Int(int64(seccomp.Flags(s.Linux.Seccomp))),
			plan.Int(plan.TagSeccomp)).Late = late
	}
	// The cwd is entered as root, before an early filter could refuse the
	// check's getcwd. One only the process's user may enter (EACCES) is
	// entered after the switch of user instead: the plan has the middle
	// part twice, the executor takes one.
	cd := b.Add("chdir to cwd "+p.Cwd, plan.OpChdir, plan.Str(p.Cwd))
	cd.AltErrnos = []int{int(unix.EACCES), int(unix.EPERM)}
	k := b.Len() - 1
	b.Add("working directory", plan.OpCheckCwd)
	set, last, err := processCaps(p, o)
	if err != nil {
		return err
	}
	middle := func(retryCwd bool) error {
		if err := processAttrSteps(b, s, o.Exec); err != nil {
			return err
		}
		lsmExecSteps(b, p, o.ProcSlot)
		loadSeccomp(seccompBeforeCredentials, false)
		b.Phase("credentials")
		// Give stdio to the user before we may no longer (runc does).
		b.Add("chown stdio", plan.OpStdioChown, plan.Int(int64(p.User.UID)))
		if err := credentialSteps(b, p, o, set, last); err != nil {
			return err
		}
		if retryCwd {
			b.Add("chdir to cwd "+p.Cwd, plan.OpChdir, plan.Str(p.Cwd))
			b.Add("working directory", plan.OpCheckCwd)
		}
		return nil
	}
	if err := middle(false); err != nil {
		return err
	}
	jump := b.Len()
	b.Add("skip the cwd retry", plan.OpNop)
	retry := b.Len()
	b.Phase("process")
	if err := middle(true); err != nil {
		return err
	}
	b.Step(k).SkipAlt = retry - k - 1
	b.Step(jump).SkipOK = b.Len() - jump - 1
	b.Phase("cwd+fds")
	umask := int64(0o022)
	if p.User.Umask != nil {
		umask = int64(*p.User.Umask)
	}
	b.Add("set umask", plan.OpUmask, plan.Int(umask))
	// Nothing of ours may reach the user's process: from here every fd
	// past the preserved ones closes on exec.
	b.Add("close fds", plan.OpCloseFrom, plan.Int(int64(3+o.Preserve)), plan.Int(int64(o.ProcSlot)))
	loadSeccomp(seccompBeforeReady, false)
	if o.Trace {
		b.Add("timings", plan.OpTimings)
	}
	b.Phase("")
	env, err := processEnv(append(append([]string{}, p.Env...), o.ExtraEnv...), o.Home)
	if err != nil {
		return err
	}
	if !o.Exec {
		b.Add("ready", plan.OpReady)
		b.Add("wait for start on exec.fifo", plan.OpFifoWait, plan.Int(int64(o.FifoSlot)), plan.Int(int64(o.ProcSlot))).Late = true
		if s.Hooks != nil {
			for i, h := range s.Hooks.StartContainer {
				// Without an env of its own, a startContainer hook gets
				// the process's, as runc's always have.
				Hook(b, fmt.Sprintf("error running startContainer hook #%d: %s", i, h.Path), &h, "", o.State, env).Late = true
			}
		}
	}
	if !limitsFirst {
		setLimits(!o.Exec)
	}
	b.Add("exec "+p.Args[0], plan.OpExec, plan.Str(o.Path), plan.Strs(p.Args), plan.Strs(env)).Late = !o.Exec
	return b.Err()
}

// processEnv is the process's environment as runc makes it: the last of
// duplicate entries wins (in its place), an empty HOME counts as none, and
// a missing HOME is home (from the container's /etc/passwd).
func processEnv(env []string, home string) ([]string, error) {
	out := make([]string, 0, len(env)+1)
	saw := make(map[string]bool, len(env))
	homeSet := false
	for i := len(env) - 1; i >= 0; i-- {
		kv := env[i]
		k, v, ok := strings.Cut(kv, "=")
		switch {
		case !ok:
			return nil, fmt.Errorf("invalid environment variable %q: missing '='", kv)
		case k == "":
			return nil, fmt.Errorf("invalid environment variable %q: name cannot be empty", kv)
		case saw[k]:
			continue
		}
		saw[k] = true
		if k == "HOME" {
			if v == "" {
				continue
			}
			homeSet = true
		}
		out = append(out, kv)
	}
	slices.Reverse(out)
	if !homeSet {
		out = append(out, "HOME="+home)
	}
	return out, nil
}

// NeedsHome reports whether env lacks a HOME (or has only an empty one),
// so that the parent must look it up.
func NeedsHome(env []string) bool {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], "HOME="); ok {
			return v == ""
		}
	}
	return true
}

// Hook adds a hook to run from the executor: its env is the hook's,
// or without one defaultEnv.
func Hook(b *plan.Builder, desc string, h *specs.Hook, cwd string, state []byte, defaultEnv []string) *plan.Step {
	args := h.Args
	if len(args) == 0 {
		args = []string{h.Path}
	}
	env := h.Env
	if env == nil {
		env = defaultEnv
	}
	timeout := 0
	if h.Timeout != nil {
		timeout = *h.Timeout
	}
	return b.Add(desc, plan.OpHook, plan.Str(h.Path), plan.Strs(args), plan.Strs(env), plan.Int(int64(timeout)),
		plan.Str(cwd), plan.Blob(state))
}

// allowsRlimits reports whether prog lets through every prlimit64 call the
// late rlimit steps make.
func allowsRlimits(prog []unix.SockFilter, limits int) bool {
	if limits == 0 {
		return true
	}
	arch, err := seccomp.NativeArch()
	if err != nil {
		return false
	}
	var lim unix.Rlimit
	for res := 0; res < 16; res++ {
		c := seccomp.Call{Nr: unix.SYS_PRLIMIT64, Arch: arch, Args: [6]uint64{0, uint64(res), uint64(uintptr(unsafe.Pointer(&lim)))}}
		if !seccomp.Allows(prog, &c) {
			return false
		}
	}
	return true
}

// processCaps is the process's capability sets as they can be granted,
// with runc's warnings (once) for what is left out.
func processCaps(p *specs.Process, o *ProcOpts) (*caps.Set, int, error) {
	last := caps.LastCap()
	set, err := caps.New(p.Capabilities, last)
	if err != nil {
		return nil, 0, err
	}
	// A capability the runtime itself lacks (root without
	// CAP_SYS_RESOURCE in some sandboxes) cannot be granted: say so and go
	// on without it rather than fail every privileged container.
	if !o.Userns {
		if held, err := caps.Held(); err == nil {
			if missing := (set.Effective | set.Permitted | set.Inheritable | set.Ambient) &^ held; missing != 0 {
				slog.Warn("capabilities not held by the runtime are dropped", "caps", caps.Format(missing))
				set.Effective &= held
				set.Permitted &= held
				set.Inheritable &= held
				set.Ambient &= held
			}
		}
	}
	// The kernel raises an ambient capability only if it is permitted and
	// inheritable: runc warns about the others and goes on.
	if bad := set.Ambient &^ (set.Permitted & set.Inheritable); bad != 0 {
		for _, name := range strings.Split(caps.Format(bad), ",") {
			slog.Warn("can't raise ambient capability " + name + ": operation not permitted")
		}
		set.Ambient &^= bad
	}
	return set, last, nil
}

// credentialSteps switches to the process's user and capabilities:
// bounding set first (needs CAP_SETPCAP), keep capabilities across the
// change of ids, groups, ids, then the capability sets and ambient ones,
// and no_new_privs.
func credentialSteps(b *plan.Builder, p *specs.Process, o *ProcOpts, set *caps.Set, last int) error {
	b.Add("drop capabilities from the bounding set", plan.OpCapBounding, plan.Int(int64(set.Bounding)), plan.Int(int64(last)))
	b.Add("keep capabilities", plan.OpKeepCaps, plan.Int(1))
	u := p.User
	switch {
	case !o.SetgroupsDenied:
		g := make([]byte, 0, 4*len(u.AdditionalGids))
		for _, gid := range u.AdditionalGids {
			g = binary.LittleEndian.AppendUint32(g, gid)
		}
		st := b.Addf(plan.OpSetgroups, []plan.Arg{plan.Blob(g)}, "setgroups %v", u.AdditionalGids)
		// In a user namespace whose setgroups is denied only an empty
		// list is possible, and then there is nothing to change.
		if o.Userns && len(g) == 0 {
			st.AltErrnos = []int{int(unix.EPERM)}
		}
	case len(u.AdditionalGids) > 0:
		return fmt.Errorf("additionalGids cannot be set: setgroups is denied in this user namespace")
	}
	b.Addf(plan.OpSetresid, []plan.Arg{plan.Int(int64(u.UID)), plan.Int(int64(u.GID))}, "set user %d:%d", u.UID, u.GID)
	b.Add("clear keep capabilities", plan.OpKeepCaps, plan.Int(0))
	b.Add("capset", plan.OpCapset, plan.Int(int64(set.Effective)), plan.Int(int64(set.Permitted)), plan.Int(int64(set.Inheritable)))
	b.Add("ambient capabilities", plan.OpAmbient, plan.Int(int64(set.Ambient)))
	if p.NoNewPrivileges {
		b.Add("set no_new_privs", plan.OpNoNewPrivs)
	}
	return nil
}

// processAttrSteps emits what the kernel keeps per task and passes across
// execve: the NUMA memory policy, the personality, the scheduler, the I/O
// priority and (exec only) the final CPU affinity. They run as root, before
// credentials drop (SCHED_FIFO, a negative nice or IOPRIO_CLASS_RT need
// CAP_SYS_NICE or CAP_SYS_ADMIN) and before an early seccomp filter.
func processAttrSteps(b *plan.Builder, s *specs.Spec, exec bool) error {
	if mp := s.Linux.MemoryPolicy; mp != nil {
		mode := validate.MemoryPolicyModes[mp.Mode]
		for _, f := range mp.Flags {
			mode |= validate.MemoryPolicyFlags[f]
		}
		var mask []byte
		if mp.Nodes != "" {
			nodes, err := validate.ParseList(mp.Nodes, validate.MaxNodes)
			if err != nil {
				return fmt.Errorf("memory policy nodes: %w", err)
			}
			words := make([]uint64, nodes[len(nodes)-1]/64+1)
			for _, n := range nodes {
				words[n/64] |= 1 << (n % 64)
			}
			for _, w := range words {
				mask = binary.LittleEndian.AppendUint64(mask, w)
			}
		}
		b.Addf(plan.OpMempolicy, []plan.Arg{plan.Int(int64(mode)), plan.Blob(mask)}, "set memory policy %s %q", mp.Mode, mp.Nodes)
	}
	if pe := s.Linux.Personality; pe != nil {
		b.Addf(plan.OpPersonality, []plan.Arg{plan.Int(int64(validate.Personalities[pe.Domain]))}, "set personality %s", pe.Domain)
	}
	p := s.Process
	if sc := p.Scheduler; sc != nil {
		st := b.Addf(plan.OpSchedAttr, []plan.Arg{plan.Blob(schedAttr(sc))}, "set scheduler %s", sc.Policy)
		// The kernel refuses SCHED_DEADLINE where the cpuset is narrower
		// than the root domain: say why, in runc's words.
		if r := s.Linux.Resources; r != nil && r.CPU != nil && r.CPU.Cpus != "" {
			st.Codes = map[int]string{int(unix.EPERM): "operation not permitted: process scheduler can't be used together with AllowedCPUs"}
		}
	}
	if io := p.IOPriority; io != nil {
		prio := validate.IOPrioClasses[io.Class]<<13 | io.Priority
		b.Addf(plan.OpIoprio, []plan.Arg{plan.Int(int64(prio))}, "set I/O priority %s %d", io.Class, io.Priority)
	}
	// execCPUAffinity is not for the container's init; "final" is the
	// affinity after the move into the container's cgroup.
	if a := p.ExecCPUAffinity; exec && a != nil && a.Final != "" {
		mask, err := affinity.Mask(a.Final)
		if err != nil {
			return fmt.Errorf("set final CPU affinity: %w", err)
		}
		b.Addf(plan.OpAffinity, []plan.Arg{plan.Blob(mask)}, "set final CPU affinity %s", a.Final)
	}
	return nil
}

// schedAttr is struct sched_attr (SCHED_ATTR_SIZE_VER1) for sc.
func schedAttr(sc *specs.Scheduler) []byte {
	var fl uint64
	for _, f := range sc.Flags {
		fl |= validate.SchedFlags[f]
	}
	b := binary.LittleEndian.AppendUint32(nil, 56)
	b = binary.LittleEndian.AppendUint32(b, validate.SchedPolicies[sc.Policy])
	b = binary.LittleEndian.AppendUint64(b, fl)
	b = binary.LittleEndian.AppendUint32(b, uint32(sc.Nice))
	b = binary.LittleEndian.AppendUint32(b, uint32(sc.Priority))
	b = binary.LittleEndian.AppendUint64(b, sc.Runtime)
	b = binary.LittleEndian.AppendUint64(b, sc.Deadline)
	b = binary.LittleEndian.AppendUint64(b, sc.Period)
	// The spec has no clamp values: with a clamp flag, the widest clamp.
	b = binary.LittleEndian.AppendUint32(b, 0)
	return binary.LittleEndian.AppendUint32(b, 1024)
}

// lsmExecSteps arm the AppArmor profile and SELinux label for our execve,
// as root, before any seccomp filter and before no_new_privs, as runc
// does, through our own verified procfs (a mount over /proc/self/attr in
// the container cannot swallow them: CVE-2019-16884, CVE-2025-52881).
func lsmExecSteps(b *plan.Builder, p *specs.Process, proc int) {
	if p.ApparmorProfile != "" {
		// attr/apparmor/exec since Linux 5.8 (LSM stacking); attr/exec before.
		file := "thread-self/attr/exec"
		if _, err := os.Stat("/proc/self/attr/apparmor/exec"); err == nil {
			file = "thread-self/attr/apparmor/exec"
		}
		b.Addf(plan.OpProcWrite, []plan.Arg{plan.Int(int64(proc)), plan.Str(file), plan.Blob([]byte("exec " + p.ApparmorProfile))},
			"apparmor profile %q", p.ApparmorProfile)
	}
	if p.SelinuxLabel != "" {
		b.Addf(plan.OpProcWrite, []plan.Arg{plan.Int(int64(proc)), plan.Str("thread-self/attr/exec"), plan.Blob([]byte(p.SelinuxLabel))},
			"selinux process label %q", p.SelinuxLabel)
	}
}

// Keyring gives the container a session keyring of its own (so it
// cannot read the host's keys), labelled like the process under SELinux.
func Keyring(b *plan.Builder, id, selinuxLabel string, proc int) {
	if selinuxLabel != "" {
		b.Addf(plan.OpProcWrite, []plan.Arg{plan.Int(int64(proc)), plan.Str("thread-self/attr/keycreate"), plan.Blob([]byte(selinuxLabel))},
			"selinux keyring label %q", selinuxLabel)
	}
	b.Add("join session keyring", plan.OpKeyring, plan.Str("_ses."+id)).AltErrnos = []int{int(unix.ENOSYS), int(unix.EACCES)}
}

// StateJSON is the state hooks read on stdin.
func StateJSON(st *specs.State) []byte {
	data, _ := json.Marshal(st)
	return data
}
