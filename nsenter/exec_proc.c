// exec_proc.c: the executor's process steps: ids, capabilities, limits,
// scheduling, seccomp, the terminal, exec.fifo, hooks and the final execve.
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/keyctl.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "executor.h"

#define NEG(x) ((x) < 0 ? -errno : 0)

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

// split_nul turns a blob of NUL-terminated strings into a NULL-terminated
// vector (malloc'd; the strings stay in the blob).
static char **split_nul(const struct teu_arg *a)
{
	size_t n = 0, k = 0;
	char **v;

	if (a->len && a->p[a->len - 1] != '\0')
		return NULL;
	for (uint32_t i = 0; i < a->len; i++)
		n += a->p[i] == '\0';
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return NULL;
	for (uint32_t i = 0; i < a->len; i += (uint32_t)strlen(a->p + i) + 1)
		v[k++] = (char *)a->p + i;
	return v;
}

static int setresid(int64_t uid, int64_t gid)
{
	// Raw syscalls: no libc set*id broadcast, which a single thread
	// does not need.
	if (syscall(SYS_setresgid, gid, gid, gid) < 0 || syscall(SYS_setresuid, uid, uid, uid) < 0)
		return -errno;
	return 0;
}

static int fork_step(struct teu_ctx *c)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0)
		return 0; // the child goes on with the plan
	if (teu_send_msg(c, TEU_MSG_PID, pid, 0, NULL, 0, -1) < 0)
		kill(pid, SIGKILL);
	// Wait for the child until the parent, once it has recorded the
	// child's pid, kills us: a parent that dies before then leaves us to
	// wait on, and the child dies at its next read of the plan or the
	// sync socket, which the parent's death closed.
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	_exit(0);
}

static int if_up(const char *name)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	if (strlen(name) >= sizeof(ifr.ifr_name)) {
		close(s);
		return -EINVAL;
	}
	strcpy(ifr.ifr_name, name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		r = -errno;
	else if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			r = -errno;
	}
	close(s);
	return r;
}

// console_target opens /dev/console in the current root to bind the pty
// onto, creating an empty file if it is missing. A symlink there is
// refused, not followed (CVE-2025-52565).
static int console_target(void)
{
	struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	struct stat st;
	int dev, fd;

	dev = (int)syscall(SYS_openat2, AT_FDCWD, "/dev", &how, sizeof(how));
	if (dev < 0)
		return -errno;
	fd = openat(dev, "console", O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	fd = openat(dev, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	close(dev);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || S_ISLNK(st.st_mode)) {
		close(fd);
		return -TEU_E_SYMLINK;
	}
	return fd;
}

static int bind_console(int peer)
{
	int t, target = console_target(), r = 0;

	if (target < 0)
		return target;
	t = open_tree(peer, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (t < 0 || move_mount(t, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		r = -errno;
	if (t >= 0)
		close(t);
	close(target);
	return r;
}

static int send_master(int sock, int master)
{
	static const char name[] = "/dev/ptmx";
	struct iovec iov = {(void *)name, sizeof(name) - 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *cm;
	ssize_t n;

	memset(&u, 0, sizeof(u));
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &master, sizeof(int));
	do {
		n = sendmsg(sock, &m, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

// console makes a pty from the root's devpts, binds its peer onto
// /dev/console if asked, hands the master to the console socket and makes
// the peer our stdio and controlling terminal (we are a session leader).
static int console(struct teu_ctx *c, const struct teu_arg *a)
{
	int sock = teu_slot(c, a[0].i), master, peer = -1, unlock = 0, r = 0;

	if (sock < 0)
		return sock;
	master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return -errno;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0) {
		r = errno == ENOTTY ? -TEU_E_NOT_TTY : -errno;
		goto out;
	}
	// The peer by TIOCGPTPEER, never by a path the container could swap.
	peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (peer < 0) {
		r = -errno;
		goto out;
	}
	if (a[1].i || a[2].i) {
		struct winsize ws = {.ws_row = (unsigned short)a[1].i, .ws_col = (unsigned short)a[2].i};
		if (ioctl(peer, TIOCSWINSZ, &ws) < 0) {
			r = -errno;
			goto out;
		}
	}
	if (a[3].i && (r = bind_console(peer)) < 0)
		goto out;
	if ((r = send_master(sock, master)) < 0)
		goto out;
	for (int fd = 0; fd < 3; fd++)
		if (dup3(peer, fd, 0) < 0) {
			r = -errno;
			goto out;
		}
	if (ioctl(0, TIOCSCTTY, 0) < 0)
		r = -errno;
out:
	if (peer >= 0)
		close(peer);
	close(master);
	return r;
}

// stdio_chown gives stdio to the process's user so that it can reopen
// /dev/stdout, as runc does: not /dev/null, not what it owns already, and
// quietly not what we may not change.
static int stdio_chown(int64_t uid)
{
	for (int fd = 0; fd < 3; fd++) {
		struct stat st;
		if (fstat(fd, &st) < 0) {
			if (errno == EBADF)
				continue;
			return -errno;
		}
		if (st.st_uid == (uid_t)uid || (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)))
			continue;
		if (fchown(fd, (uid_t)uid, (gid_t)-1) < 0 && errno != EPERM && errno != EROFS && errno != EINVAL)
			return -errno;
	}
	return 0;
}

static int rlimit(const struct teu_arg *a)
{
	struct rlimit want = {.rlim_cur = (rlim_t)a[1].i, .rlim_max = (rlim_t)a[2].i};

	if (a[3].i) {
		// Raise only, while we may (CAP_SYS_RESOURCE): the exact limits
		// go on right before execve.
		struct rlimit cur;
		if (prlimit(0, (int)a[0].i, NULL, &cur) < 0)
			return -errno;
		want.rlim_max = cur.rlim_max > want.rlim_max ? cur.rlim_max : want.rlim_max;
		want.rlim_cur = cur.rlim_cur > want.rlim_cur ? cur.rlim_cur : want.rlim_cur;
		if (want.rlim_cur > want.rlim_max)
			want.rlim_cur = want.rlim_max;
	}
	return NEG(prlimit(0, (int)a[0].i, &want, NULL));
}

static int cap_bounding(uint64_t keep, int64_t last)
{
	for (int64_t cap = 0; cap <= last && cap < 64; cap++) {
		if (keep & (1ull << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	}
	return 0;
}

static int capset_step(uint64_t eff, uint64_t perm, uint64_t inh)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2] = {
		{(uint32_t)eff, (uint32_t)perm, (uint32_t)inh},
		{(uint32_t)(eff >> 32), (uint32_t)(perm >> 32), (uint32_t)(inh >> 32)},
	};
	return NEG(syscall(SYS_capset, &h, d));
}

static int ambient(uint64_t mask)
{
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && (errno != EINVAL || mask))
		return -errno;
	for (int cap = 0; cap < 64; cap++)
		if ((mask & (1ull << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			return -errno;
	return 0;
}

static int setgroups_step(const struct teu_arg *a)
{
	uint32_t *gids;
	long r;

	if (a->len % 4)
		return -TEU_E_PLAN;
	gids = malloc(a->len ? a->len : 4);
	if (!gids)
		return -ENOMEM;
	memcpy(gids, a->p, a->len);
	r = syscall(SYS_setgroups, a->len / 4, gids);
	free(gids);
	return NEG(r);
}

static int seccomp_step(struct teu_ctx *c, const struct teu_arg *a)
{
	struct sock_fprog prog;
	void *filter;
	int fd, r = 0;

	if (a[0].len == 0 || a[0].len % sizeof(struct sock_filter) || a[0].len / sizeof(struct sock_filter) > 0xffff)
		return -TEU_E_PLAN;
	// The blob is not aligned for struct sock_filter.
	filter = malloc(a[0].len);
	if (!filter)
		return -ENOMEM;
	memcpy(filter, a[0].p, a[0].len);
	prog.len = (unsigned short)(a[0].len / sizeof(struct sock_filter));
	prog.filter = filter;
	fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, (unsigned int)a[1].i, &prog);
	free(filter);
	if (fd < 0)
		return -errno;
	if (a[1].i & SECCOMP_FILTER_FLAG_NEW_LISTENER) {
		// The notify listener goes to the parent, for the agent.
		if ((r = teu_send_msg(c, TEU_MSG_FD, (int32_t)a[2].i, 0, NULL, 0, fd)) == 0)
			r = teu_wait_ok(c);
		close(fd);
	}
	return r;
}

// close_from marks every fd from first on close-on-exec: close_range(2),
// or, where it is refused (an old kernel, a seccomp filter loaded before
// this step), fcntl on each fd listed in our own procfs.
static int close_from(int64_t first, int proc)
{
	char buf[4096] __attribute__((aligned(8)));
	long n;
	int dir;

	if (first < 3)
		return -TEU_E_PLAN;
	if (syscall(SYS_close_range, (unsigned int)first, ~0u, CLOSE_RANGE_CLOEXEC) == 0)
		return 0;
	if (errno != ENOSYS && errno != EINVAL && errno != EPERM)
		return -errno;
	dir = openat(proc, "self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	while ((n = syscall(SYS_getdents64, dir, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			char *end;
			long fd = strtol(d->d_name, &end, 10);
			off += d->d_reclen;
			if (*end || end == d->d_name || fd < first || fd == dir)
				continue;
			if (fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0 && errno != EBADF) {
				int e = errno;
				close(dir);
				return -e;
			}
		}
	}
	close(dir);
	return n < 0 ? -errno : 0;
}

static int fifo_wait(struct teu_ctx *c, const struct teu_arg *a)
{
	int fifo = teu_slot(c, a[0].i), proc = teu_slot(c, a[1].i), fd;
	char path[32];

	if (fifo < 0 || proc < 0)
		return -EBADF;
	// Reopened for writing through our own procfs: blocks until start
	// opens the other end.
	snprintf(path, sizeof(path), "self/fd/%d", fifo);
	do {
		fd = openat(proc, path, O_WRONLY | O_CLOEXEC);
	} while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return -errno;
	c->fifo_fd = fd;
	return teu_write_all(fd, "", 1) < 0 ? -errno : 0;
}

// hook runs one hook: state on its stdin, its output kept for the error,
// killed after its timeout. Nothing waits forever: the pidfd says when it
// exits, whatever its children do with the output pipe.
static int hook(struct teu_ctx *c, const struct teu_arg *a)
{
	char **argv = split_nul(&a[1]), **envp = split_nul(&a[2]);
	int in[2] = {-1, -1}, out[2] = {-1, -1}, pidfd = -1, r = 0, status = 0;
	size_t fed = 0, got = 0;
	struct timespec now, deadline;
	pid_t pid;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += a[3].i > 0 ? a[3].i : 0;

	if (!argv || !envp || !argv[0]) {
		r = -TEU_E_PLAN;
		goto out;
	}
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		r = -errno;
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		goto out;
	}
	if (pid == 0) {
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(out[1], 2) < 0)
			_exit(126);
		if (a[4].len && chdir(a[4].p) < 0)
			_exit(126);
		execve(a[0].p, argv, envp);
		dprintf(2, "exec %s: %s", a[0].p, strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	in[0] = out[1] = -1;
	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0) {
		r = -errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto out;
	}
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	for (;;) {
		struct pollfd p[3] = {{pidfd, POLLIN, 0}, {out[0], POLLIN, 0}, {in[1], POLLOUT, 0}};
		int timeout_ms = -1, n;
		if (a[3].i > 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			int64_t left = (deadline.tv_sec - now.tv_sec) * 1000 + (deadline.tv_nsec - now.tv_nsec) / 1000000;
			timeout_ms = left > 0 ? (int)left : 0;
		}
		n = poll(p, in[1] >= 0 ? 3 : 2, timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0) {
			r = -TEU_E_TIMEOUT;
			kill(pid, SIGKILL);
			break;
		}
		if (p[1].revents) {
			char buf[512];
			ssize_t k = read(out[0], buf, sizeof(buf));
			if (k > 0 && got < sizeof(c->detail) - 1) {
				size_t take = (size_t)k < sizeof(c->detail) - 1 - got ? (size_t)k : sizeof(c->detail) - 1 - got;
				memcpy(c->detail + got, buf, take);
				got += take;
				c->detail[got] = '\0';
			}
		}
		if (in[1] >= 0 && p[2].revents) {
			ssize_t k = write(in[1], a[5].p + fed, a[5].len - fed);
			if (k > 0)
				fed += (size_t)k;
			if (k < 0 || fed == a[5].len) {
				close(in[1]);
				in[1] = -1;
			}
		}
		if (p[0].revents)
			break; // exited; what it left in the pipe is read below
	}
	if (r == 0) {
		char buf[512];
		ssize_t k;
		fcntl(out[0], F_SETFL, O_NONBLOCK);
		while (got < sizeof(c->detail) - 1 && (k = read(out[0], buf, sizeof(buf))) > 0) {
			size_t take = (size_t)k < sizeof(c->detail) - 1 - got ? (size_t)k : sizeof(c->detail) - 1 - got;
			memcpy(c->detail + got, buf, take);
			got += take;
			c->detail[got] = '\0';
		}
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r == 0 && WIFSIGNALED(status))
		r = -TEU_E_HOOK_KILLED;
	else if (r == 0 && WEXITSTATUS(status) != 0)
		r = -TEU_E_HOOK_FAILED;
	if (r == 0)
		c->detail[0] = '\0';
	else if (r == -TEU_E_HOOK_FAILED || r == -TEU_E_HOOK_KILLED) {
		// The status first, then what the hook said.
		// (The output is cut to leave room for the status.)
		char said[sizeof(c->detail) - 32];
		int n;
		memcpy(said, c->detail, sizeof(said) - 1);
		said[sizeof(said) - 1] = '\0';
		n = snprintf(c->detail, sizeof(c->detail), "%s %d", WIFSIGNALED(status) ? "signal" : "exit status",
			     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		if (said[0] && n > 0 && (size_t)n < sizeof(c->detail))
			snprintf(c->detail + n, sizeof(c->detail) - (size_t)n, ": %s", said);
	}
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	if (pidfd >= 0)
		close(pidfd);
	free(argv);
	free(envp);
	return r;
}

static int exec_step(const struct teu_arg *a)
{
	char **argv = split_nul(&a[1]), **envp = split_nul(&a[2]);

	if (!argv || !envp || !argv[0])
		return -TEU_E_PLAN;
	execve(a[0].p, argv, envp);
	free(argv);
	free(envp);
	return -errno;
}

int teu_op_proc(struct teu_ctx *c, const struct teu_step *s)
{
	const struct teu_arg *a = s->a;

	switch (s->op) {
	case TEU_OP_SETRESID:
		return setresid(a[0].i, a[1].i);
	case TEU_OP_FORK:
		return fork_step(c);
	case TEU_OP_SETSID:
		return NEG(setsid());
	case TEU_OP_KEYRING:
		return NEG(syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, a[0].p));
	case TEU_OP_HOSTNAME:
		return NEG(sethostname(a[0].p, a[0].len));
	case TEU_OP_DOMAINNAME:
		return NEG(setdomainname(a[0].p, a[0].len));
	case TEU_OP_IF_UP:
		return if_up(a[0].p);
	case TEU_OP_CONSOLE:
		return console(c, a);
	case TEU_OP_STDIO_CHOWN:
		return stdio_chown(a[0].i);
	case TEU_OP_UMASK:
		umask((mode_t)a[0].i);
		return 0;
	case TEU_OP_RLIMIT:
		return rlimit(a);
	case TEU_OP_SCHED_ATTR: {
		uint64_t attr[16] = {0}; // struct sched_attr, aligned
		if (a[0].len < 48 || a[0].len > sizeof(attr))
			return -TEU_E_PLAN;
		memcpy(attr, a[0].p, a[0].len);
		return NEG(syscall(SYS_sched_setattr, 0, attr, 0));
	}
	case TEU_OP_IOPRIO:
		return NEG(syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, a[0].i));
	case TEU_OP_PERSONALITY:
		return NEG(syscall(SYS_personality, (unsigned long)a[0].i));
	case TEU_OP_MEMPOLICY: {
		unsigned long mask[16] = {0};
		if (a[1].len > sizeof(mask))
			return -TEU_E_PLAN;
		memcpy(mask, a[1].p, a[1].len);
		return NEG(syscall(SYS_set_mempolicy, a[0].i, a[1].len ? mask : NULL,
				   a[1].len ? (unsigned long)a[1].len * 8 + 1 : 0));
	}
	case TEU_OP_AFFINITY: {
		cpu_set_t set;
		if (a[0].len > sizeof(set))
			return -TEU_E_PLAN;
		memset(&set, 0, sizeof(set));
		memcpy(&set, a[0].p, a[0].len);
		return NEG(sched_setaffinity(0, sizeof(set), &set));
	}
	case TEU_OP_CAP_BOUNDING:
		return cap_bounding((uint64_t)a[0].i, a[1].i);
	case TEU_OP_KEEP_CAPS:
		return NEG(prctl(PR_SET_KEEPCAPS, a[0].i ? 1 : 0, 0, 0, 0));
	case TEU_OP_SETGROUPS:
		return setgroups_step(&a[0]);
	case TEU_OP_CAPSET:
		return capset_step((uint64_t)a[0].i, (uint64_t)a[1].i, (uint64_t)a[2].i);
	case TEU_OP_AMBIENT:
		return ambient((uint64_t)a[0].i);
	case TEU_OP_NO_NEW_PRIVS:
		return NEG(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	case TEU_OP_SECCOMP:
		return seccomp_step(c, a);
	case TEU_OP_CLOSE_FROM:
		return close_from(a[0].i, teu_slot(c, a[1].i));
	case TEU_OP_FIFO_WAIT:
		return fifo_wait(c, a);
	case TEU_OP_HOOK:
		return hook(c, a);
	case TEU_OP_EXEC:
		return exec_step(a);
	}
	return 1;
}
