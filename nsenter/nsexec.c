// nsexec.c: the part of `teu init` (and later `teu exec`) that must run
// before the Go runtime starts threads. setns(2) into a user or mount
// namespace and unshare(CLONE_NEWUSER) are refused to multi-threaded
// processes, and a new pid or time namespace only applies to children, so
// this constructor joins and creates namespaces, then forks: the child
// returns into Go as the container's init, the parent reports the child's
// pid and exits.
//
// It does nothing unless _TEU_INIT_SOCK names the sync socket the parent
// gave us. The parent sends one bootstrap message (format in bootstrap.h);
// we answer over the same SOCK_SEQPACKET socket with short text messages:
//   "U"          we unshared a user namespace: write our id maps, reply "M"
//   "P <pid>"    the init's pid (host view); we exit right after
//   "E <text>"   we failed; we exit 1 right after
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "bootstrap.h"
#include "inherited.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static int sync_fd = -1;

static void bail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void bail(const char *fmt, ...)
{
	char msg[1024] = "E ";
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vsnprintf(msg + 2, sizeof(msg) - 2, fmt, ap);
	va_end(ap);
	if (saved) {
		size_t n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(saved));
	}
	if (sync_fd < 0 || send(sync_fd, msg, strlen(msg), MSG_NOSIGNAL) < 0)
		fprintf(stderr, "teu init: %s\n", msg + 2);
	_exit(1);
}

static ssize_t xrecv(void *buf, size_t len)
{
	ssize_t n;
	do {
		n = recv(sync_fd, buf, len, 0);
	} while (n < 0 && errno == EINTR);
	return n;
}

static void xsend(const char *msg)
{
	ssize_t n;
	do {
		n = send(sync_fd, msg, strlen(msg), MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		bail("send %s", msg);
}

// handshake sends ask and waits for the parent's one-byte answer. If the
// parent hangs up instead, it has failed and reports why: exit quietly.
static void handshake(const char *ask, char answer, const char *what)
{
	char reply[8];
	ssize_t n;

	xsend(ask);
	n = xrecv(reply, sizeof(reply));
	if (n == 0)
		_exit(1);
	if (n != 1 || reply[0] != answer) {
		errno = 0;
		bail("%s", what);
	}
}

static const char *nsname(uint32_t flag)
{
	switch (flag) {
	case CLONE_NEWUSER: return "user";
	case CLONE_NEWNS: return "mnt";
	case CLONE_NEWPID: return "pid";
	case CLONE_NEWNET: return "net";
	case CLONE_NEWIPC: return "ipc";
	case CLONE_NEWUTS: return "uts";
	case CLONE_NEWCGROUP: return "cgroup";
	case CLONE_NEWTIME: return "time";
	}
	return "unknown";
}

static void write_timens_offsets(const char *offsets)
{
	int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		bail("open timens_offsets");
	if (write(fd, offsets, strlen(offsets)) < 0)
		bail("write timens_offsets");
	close(fd);
}

static void write_oom_score_adj(int adj)
{
	char val[16];
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		bail("open oom_score_adj");
	snprintf(val, sizeof(val), "%d", adj);
	if (write(fd, val, strlen(val)) < 0)
		bail("set oom_score_adj %d", adj);
	close(fd);
}

static void join_namespaces(struct teu_bootstrap *bs)
{
	int fds[TEU_MAX_NS];

	// Open every path first: joining the mount namespace changes how
	// later paths resolve.
	for (int i = 0; i < bs->nns; i++) {
		fds[i] = open(bs->ns[i].path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			bail("open %s namespace %s", nsname(bs->ns[i].type), bs->ns[i].path);
	}
	// The user namespace first, so we hold capabilities over the others.
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < bs->nns; i++) {
			int user = bs->ns[i].type == CLONE_NEWUSER;
			if (user != (pass == 0))
				continue;
			if (setns(fds[i], (int)bs->ns[i].type) < 0)
				bail("setns %s namespace %s", nsname(bs->ns[i].type), bs->ns[i].path);
			close(fds[i]);
		}
	}
}

// The init's RLIMIT_NOFILE before the Go runtime raises its soft limit:
// what the container's process gets when its spec sets none, as Go's own
// exec would restore it (libcontainer/rlimit.go execs without Go's help).
struct rlimit teu_init_nofile;

static void nsexec(void)
{
	static char buf[TEU_MAX_MSG];
	struct teu_bootstrap bs;
	char reply[64];
	const char *env = getenv("_TEU_INIT_SOCK");
	uint32_t rest;
	ssize_t n;
	pid_t pid;

	if (!env)
		return;
	getrlimit(RLIMIT_NOFILE, &teu_init_nofile);
	sync_fd = atoi(env);
	if (sync_fd < 3 || fcntl(sync_fd, F_SETFD, FD_CLOEXEC) < 0) {
		sync_fd = -1;
		errno = 0;
		bail("bad _TEU_INIT_SOCK %s", env);
	}
	n = xrecv(buf, sizeof(buf));
	if (n <= 0)
		bail("read bootstrap message");
	if (teu_parse_bootstrap(buf, (size_t)n, &bs) < 0) {
		errno = 0;
		bail("invalid bootstrap message");
	}
	// While our /proc files are still ours to write (an unprivileged
	// caller's too), and before anything of the container can see us.
	if (bs.has_oom_score_adj)
		write_oom_score_adj(bs.oom_score_adj);
	// Then not dumpable until the execve of the container's process (which
	// resets it): a process of the container, even with CAP_SYS_PTRACE,
	// must not ptrace us or read our /proc/<pid>/fd and environ while we
	// hold host fds and every capability (CVE-2016-9962). We join the
	// container's pid namespace, where an exec'd process or a container
	// sharing the namespace is there before us.
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		bail("set not dumpable");

	join_namespaces(&bs);

	if (bs.clone_flags & CLONE_NEWUSER) {
		if (unshare(CLONE_NEWUSER) < 0)
			bail("unshare user namespace");
		// An unprivileged parent writes our id maps only while our /proc
		// files are its own. We are in no namespace of the container's
		// yet that could let it see us (a new or joined pid namespace is
		// for our child).
		if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
			bail("set dumpable");
		handshake("U", 'M', "parent did not write the id maps");
		if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
			bail("set not dumpable");
	}
	rest = bs.clone_flags & ~(uint32_t)(CLONE_NEWUSER | CLONE_NEWCGROUP);
	if (rest && unshare((int)rest) < 0)
		bail("unshare namespaces 0x%x", rest);
	// A new cgroup namespace is rooted at the cgroup we are in: the parent
	// places us in the container's for the unshare, then takes us out, so
	// that the init, from its fork on, does its set-up outside the
	// container's limits (libcontainer/cgroup.go).
	if (bs.cgroup_sync)
		handshake("C", 'c', "parent did not place us in the cgroup");
	if ((bs.clone_flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0)
		bail("unshare cgroup namespace");
	if (bs.cgroup_sync)
		handshake("O", 'o', "parent did not take us out of the cgroup");
	// Before any change of ids: that makes us non-dumpable, and our /proc
	// files then belong to the host's root, out of reach from inside a
	// user namespace. (We hold every capability in the new user namespace
	// already, and the time namespace it owns is ours to set.)
	if ((bs.clone_flags & CLONE_NEWTIME) && bs.timens_offsets[0])
		write_timens_offsets(bs.timens_offsets);
	if (bs.clone_flags & CLONE_NEWUSER) {
		// Become root of the new namespace: mounts and device nodes
		// need it, and the Go side switches to the user's ids last.
		if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
			bail("setresuid to root in the user namespace");
	}

	// New pid and time namespaces apply to children only.
	pid = fork();
	if (pid < 0)
		bail("fork init");
	if (pid == 0)
		return; // the container's init: on to the Go runtime

	snprintf(reply, sizeof(reply), "P %d", pid);
	xsend(reply);
	_exit(0);
}

__attribute__((constructor)) static void teu_nsenter(void)
{
	if (!getenv("_TEU_INIT_SOCK")) {
		teu_note_inherited_fds(); // a teu command, not an init
		return;
	}
	nsexec();
}
