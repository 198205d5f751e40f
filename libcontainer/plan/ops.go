package plan

import (
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Op is what a step does. The numbers are the wire format: never reuse
// one; nsenter/plan.h lists the same, and a test checks both agree.
type Op uint16

// The ops. Slots are the executor's fd table (0..MaxSlots-1): a step that
// opens something puts it in a slot, later steps name the slot.
const (
	OpNop      Op = 0
	OpAdopt    Op = 1  // slot, fd: the fd the parent passed becomes slot's
	OpClose    Op = 2  // slot
	OpSync     Op = 3  // tag: tell the parent, wait for its go-ahead
	OpSendFd   Op = 4  // slot, tag: pass slot's fd to the parent, wait for its go-ahead
	OpContinue Op = 5  // read the next part of the plan from the plan pipe
	OpDumpable Op = 6  // on: prctl(PR_SET_DUMPABLE)
	OpWrite    Op = 7  // path, data: write a host file (before anything of the container is visible)
	OpOpen     Op = 8  // slot, path, flags: open(2) a host path (O_CLOEXEC added)
	OpSetns    Op = 9  // slot, nstype
	OpUnshare  Op = 10 // flags
	OpSetresid Op = 11 // uid, gid: setresgid then setresuid, all three ids each
	OpFork     Op = 12 // report the child's pid, wait for it until killed; the child goes on
	OpSetsid   Op = 13
	OpKeyring  Op = 14 // name: join a new session keyring

	OpOpenInRoot Op = 20 // slot, root slot, path, how, perm: resolve inside root (RESOLVE_IN_ROOT)
	OpMount      Op = 21 // slot, source, fstype, flags, data: mount(2) onto slot (through /proc/self/fd)
	OpMountPath  Op = 22 // target, source, fstype, flags, data: mount(2) onto a path
	OpOpenTree   Op = 23 // slot, dir slot (-1: cwd), path, flags
	OpSetattr    Op = 24 // slot, at flags, set, clear, propagation: mount_setattr(2)
	OpMoveMount  Op = 25 // from slot, to slot
	OpCheckNode  Op = 26 // slot, kind, major, minor: the file is what it must be
	OpMknod      Op = 27 // dir slot, name, mode, dev
	OpChown      Op = 28 // dir slot, name, uid, gid (not following a symlink)
	OpUnlink     Op = 29 // dir slot, name, flags
	OpSymlink    Op = 30 // dir slot, name, target
	OpMask       Op = 31 // slot, null slot, tmpfs slot: hide a file (a clone of /dev/null) or a directory (a clone of an empty read-only tmpfs)
	OpSetxattr   Op = 32 // slot, name, value (through /proc/self/fd)
	OpPivotRoot  Op = 33 // new root slot
	OpChroot     Op = 34 // slot
	OpMoveRoot   Op = 35 // slot: mount --move it over / and chroot (--no-pivot)
	OpChdir      Op = 36 // path
	OpCheckCwd   Op = 37 // the cwd is inside the root (CVE-2024-21626)
	OpProcfs     Op = 38 // slot: a verified procfs of our own (fsopen, or /proc cloned without submounts)
	OpProcWrite  Op = 39 // procfs slot, path below it, data (no symlink, magic link or mount crossed)
	OpFsMount    Op = 40 // slot, fstype, mount attrs, key/value config: fsopen/fsmount a detached mount
	OpUnmount    Op = 41 // path, flags: umount2(2)
	OpCopyTree   Op = 42 // from slot, to slot: copy a directory's content, modes, owners and times (tmpcopyup)

	OpHostname   Op = 50 // name
	OpDomainname Op = 51 // name
	OpIfUp       Op = 52 // interface name
	OpConsole    Op = 53 // socket slot, rows, cols, bind /dev/console: a new pty becomes the controlling terminal and stdio
	OpStdioChown Op = 54 // uid: give stdio to the process's user, as runc does
	OpUmask      Op = 55 // mask

	OpRlimit      Op = 60 // resource, soft, hard, raise-only
	OpSchedAttr   Op = 61 // struct sched_attr
	OpIoprio      Op = 62 // ioprio
	OpPersonality Op = 63 // persona
	OpMempolicy   Op = 64 // mode, node mask
	OpAffinity    Op = 65 // cpu mask
	OpCapBounding Op = 66 // keep mask, last cap: drop every other capability from the bounding set
	OpKeepCaps    Op = 67 // on
	OpSetgroups   Op = 68 // u32 gids
	OpCapset      Op = 69 // effective, permitted, inheritable
	OpAmbient     Op = 70 // mask: clear the ambient set, raise these
	OpNoNewPrivs  Op = 71
	OpSeccomp     Op = 72 // sock_filter program, seccomp(2) flags, notify tag (0: none)
	OpCloseFrom   Op = 73 // fd, procfs slot: close-on-exec every fd from it on (close_range, or each fd procfs lists)

	OpReady    Op = 80 // send TagReady and close the sync socket (no answer awaited)
	OpFifoWait Op = 81 // fifo slot, procfs slot: open exec.fifo for writing (blocks until start), write a byte
	OpHook     Op = 82 // path, argv, env, timeout s, cwd, stdin: run a hook and wait for it
	OpExec     Op = 83 // path, argv, env
	OpTimings  Op = 84 // report the steps' timings
)

type opInfo struct {
	name string
	sig  string // one letter per argument: i int, s string, b blob
	doc  string
}

var ops = map[Op]opInfo{
	OpNop:         {"nop", "", "nothing (a jump: its skipOK skips steps)"},
	OpAdopt:       {"adopt", "ii", "slot, fd: the fd the parent passed becomes slot's"},
	OpClose:       {"close", "i", "slot"},
	OpSync:        {"sync", "i", "tag: tell the parent, wait for its go-ahead"},
	OpSendFd:      {"send-fd", "ii", "slot, tag: pass slot's fd to the parent, wait for its go-ahead"},
	OpContinue:    {"continue", "", "read the next part of the plan from the plan pipe"},
	OpDumpable:    {"dumpable", "i", "on: prctl(PR_SET_DUMPABLE)"},
	OpWrite:       {"write", "sb", "path, data: write a host file (before anything of the container is visible)"},
	OpOpen:        {"open", "isi", "slot, path, flags: open(2) a host path (O_CLOEXEC added)"},
	OpSetns:       {"setns", "ii", "slot, nstype"},
	OpUnshare:     {"unshare", "i", "flags"},
	OpSetresid:    {"setresid", "ii", "uid, gid: setresgid then setresuid, all three ids each"},
	OpFork:        {"fork", "", "the parent reports the child's pid, waits for the child until the teu parent kills it (once it recorded the pid: a teu killed before leaves a process whose exit says the child is gone) and exits; the child goes on"},
	OpSetsid:      {"setsid", "", "become a session leader (runc does it for every container process)"},
	OpKeyring:     {"keyring", "s", "name: join a new session keyring"},
	OpOpenInRoot:  {"open-in-root", "iisii", "slot, root slot, path, how, perm: resolve inside root (RESOLVE_IN_ROOT)"},
	OpMount:       {"mount", "issis", "slot, source, fstype, flags, data: mount(2) onto slot (through /proc/self/fd)"},
	OpMountPath:   {"mount-path", "sssis", "target, source, fstype, flags, data: mount(2) onto a path"},
	OpOpenTree:    {"open-tree", "iisi", "slot, dir slot (-1: cwd), path, flags"},
	OpSetattr:     {"setattr", "iiiii", "slot, at flags, set, clear, propagation: mount_setattr(2)"},
	OpMoveMount:   {"move-mount", "ii", "from slot, to slot"},
	OpCheckNode:   {"check-node", "iiii", "slot, kind, major, minor: the file is what it must be"},
	OpMknod:       {"mknod", "isii", "dir slot, name, mode, dev"},
	OpChown:       {"chown", "isii", "dir slot, name, uid, gid (not following a symlink)"},
	OpUnlink:      {"unlink", "isi", "dir slot, name, flags"},
	OpSymlink:     {"symlink", "iss", "dir slot, name, target"},
	OpMask:        {"mask", "iii", "slot, null slot, tmpfs slot: hide a file (a clone of /dev/null) or a directory (a clone of an empty read-only tmpfs)"},
	OpSetxattr:    {"setxattr", "isb", "slot, name, value (through /proc/self/fd)"},
	OpPivotRoot:   {"pivot-root", "i", "new root slot"},
	OpChroot:      {"chroot", "i", "slot"},
	OpMoveRoot:    {"move-root", "i", "slot: mount --move it over / and chroot (--no-pivot)"},
	OpChdir:       {"chdir", "s", "path"},
	OpCheckCwd:    {"check-cwd", "", "the cwd is inside the root (CVE-2024-21626)"},
	OpProcfs:      {"procfs", "i", "slot: a verified procfs of our own (fsopen, or /proc cloned without submounts)"},
	OpProcWrite:   {"proc-write", "isb", "procfs slot, path below it, data (no symlink, magic link or mount crossed)"},
	OpFsMount:     {"fs-mount", "isib", "slot, fstype, mount attrs, key/value config: fsopen/fsmount a detached mount"},
	OpUnmount:     {"unmount", "si", "path, flags: umount2(2)"},
	OpCopyTree:    {"copy-tree", "ii", "from slot, to slot: copy a directory's content, modes, owners and times (tmpcopyup)"},
	OpHostname:    {"hostname", "s", "name"},
	OpDomainname:  {"domainname", "s", "name"},
	OpIfUp:        {"if-up", "s", "interface name"},
	OpConsole:     {"console", "iiii", "socket slot, rows, cols, bind /dev/console: a new pty becomes the controlling terminal and stdio"},
	OpStdioChown:  {"stdio-chown", "i", "uid: give stdio to the process's user, as runc does"},
	OpUmask:       {"umask", "i", "mask"},
	OpRlimit:      {"rlimit", "iiii", "resource, soft, hard, raise-only"},
	OpSchedAttr:   {"sched-attr", "b", "struct sched_attr"},
	OpIoprio:      {"ioprio", "i", "ioprio"},
	OpPersonality: {"personality", "i", "persona"},
	OpMempolicy:   {"mempolicy", "ib", "mode, node mask"},
	OpAffinity:    {"affinity", "b", "cpu mask"},
	OpCapBounding: {"cap-bounding", "ii", "keep mask, last cap: drop every other capability from the bounding set"},
	OpKeepCaps:    {"keep-caps", "i", "on"},
	OpSetgroups:   {"setgroups", "b", "u32 gids"},
	OpCapset:      {"capset", "iii", "effective, permitted, inheritable"},
	OpAmbient:     {"ambient", "i", "mask: clear the ambient set, raise these"},
	OpNoNewPrivs:  {"no-new-privs", "", "prctl(PR_SET_NO_NEW_PRIVS)"},
	OpSeccomp:     {"seccomp", "bii", "sock_filter program, seccomp(2) flags, notify tag (0: none)"},
	OpCloseFrom:   {"close-from", "ii", "fd, procfs slot: close-on-exec every fd from it on (close_range, or each fd procfs lists)"},
	OpReady:       {"ready", "", "send TagReady and close the sync socket (no answer awaited)"},
	OpFifoWait:    {"fifo-wait", "ii", "fifo slot, procfs slot: open exec.fifo for writing (blocks until start), write a byte"},
	OpHook:        {"hook", "sbbisb", "path, argv, env, timeout s, cwd, stdin: run a hook and wait for it"},
	OpExec:        {"exec", "sbb", "path, argv, env"},
	OpTimings:     {"timings", "", "report the steps' timings"},
}

func (o Op) String() string {
	if i, ok := ops[o]; ok {
		return i.name
	}
	return fmt.Sprintf("op%d", uint16(o))
}

// Sig is the argument signature of op, one letter per argument (i int,
// s string, b blob); ok is false for an unknown op.
func Sig(op Op) (sig string, ok bool) {
	i, ok := ops[op]
	return i.sig, ok
}

// Ops lists every op in numeric order.
func Ops() []Op {
	out := make([]Op, 0, len(ops))
	for o := range ops {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Executor error codes beyond errno (nsenter/plan.h): what a check step
// found wrong.
const (
	ErrBase       = 4096
	ErrNotNull    = ErrBase + 3 // not the null device
	ErrNotProcfs  = ErrBase + 4 // not a procfs
	ErrSymlink    = ErrBase + 5 // a symlink where none may be
	ErrBadCwd     = ErrBase + 6 // the cwd is outside the root
	ErrHookFailed = ErrBase + 7 // a hook exited non-zero (detail: its output)
	ErrHookKilled = ErrBase + 8 // a hook was killed by a signal
	ErrTimeout    = ErrBase + 9 // a hook timed out
	ErrPlan       = ErrBase + 10
	ErrNotTTY     = ErrBase + 11 // not a pty master
	ErrNotChr     = ErrBase + 12 // not a character device
)

var codeText = map[int]string{
	ErrNotNull:   "not the null device (1:3)",
	ErrNotProcfs: "not a procfs", ErrSymlink: "is a symlink", ErrBadCwd: "working directory is outside the container's root",
	ErrHookFailed: "exited with an error", ErrHookKilled: "killed by a signal", ErrTimeout: "timed out",
	ErrPlan: "invalid plan", ErrNotTTY: "not a terminal", ErrNotChr: "not a character device",
}

// ErrorText is the text of an executor error code: an errno's, or one of
// the Err* codes'.
func ErrorText(code int) string {
	if t, ok := codeText[code]; ok {
		return t
	}
	if code > 0 && code < ErrBase {
		return unix.Errno(code).Error()
	}
	return fmt.Sprintf("error %d", code)
}

// ErrnoName is an errno's symbol (EPERM), for plan listings.
func ErrnoName(e int) string {
	if n := unix.ErrnoName(unix.Errno(e)); n != "" {
		return n
	}
	return fmt.Sprintf("errno%d", e)
}

// OpTable is docs/plan.md's table of ops: number, name, signature.
func OpTable() string {
	var b strings.Builder
	b.WriteString("| op | name | signature | arguments and effect |\n|---|---|---|---|\n")
	for _, o := range Ops() {
		fmt.Fprintf(&b, "| %d | `%s` | `%s` | %s |\n", o, ops[o].name, ops[o].sig, ops[o].doc)
	}
	return b.String()
}

// OpOpenInRoot's how bits.
const (
	HowMkdir      = 1 // create missing directories, the last one too
	HowMkfile     = 2 // create missing parents, the last one an empty file
	HowNoSymlinks = 4 // no symlink anywhere on the way
	HowDirectory  = 8 // the result must be a directory (else ENOTDIR)
)

// OpCheckNode's kinds.
const (
	NodeDir        = 1 // a directory, else ENOTDIR
	NodeNotDir     = 2 // not a directory, else EISDIR
	NodeChr        = 3 // the character device major:minor, else ErrNotNull (1:3) or ErrNotChr
	NodeNotSymlink = 4 // not a symlink, else ErrSymlink
)
