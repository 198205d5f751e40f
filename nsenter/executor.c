// executor.c: runs a plan (libcontainer/plan) in the container's init and in
// exec's process, where no Go runtime ever starts.
//
// What the executor may do: exactly what each step says, in order, with the
// arguments the step gives; skip steps only as a step's skipOK/altErrnos
// say; report a failure as (step index, errno or TEU_E_* code, detail) and
// exit. What it may not do: decide anything (which mounts, flags, ids,
// capabilities, filters: all in the plan), parse any file the container
// controls, print anything to the container's stdio, or leave an fd of its
// own open across the final execve (every fd it opens is O_CLOEXEC).
//
// Error convention (every function): return 0 or a negative errno /
// -TEU_E_*; the caller passes it up. Only the main loop turns a failure
// into a report and an exit.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "executor.h"

ssize_t teu_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		done += (size_t)n;
	}
	return 0;
}

int teu_slot(struct teu_ctx *c, int64_t idx)
{
	if (idx < 0 || idx >= TEU_MAX_SLOTS || c->slots[idx] < 0)
		return -EBADF;
	return c->slots[idx];
}

int teu_set_slot(struct teu_ctx *c, int64_t idx, int fd)
{
	if (idx < 0 || idx >= TEU_MAX_SLOTS) {
		close(fd);
		return -TEU_E_PLAN;
	}
	if (c->slots[idx] >= 0)
		close(c->slots[idx]);
	c->slots[idx] = fd;
	return 0;
}

int teu_send_msg(struct teu_ctx *c, uint32_t type, int32_t a, int32_t b, const void *payload, uint32_t len, int fd)
{
	struct teu_msg h = {.type = type, .a = a, .b = b, .len = len};
	struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)payload, len}};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
	ssize_t n;

	if (c->sync_fd < 0)
		return -EPIPE;
	if (fd >= 0) {
		struct cmsghdr *cm;
		memset(&u, 0, sizeof(u));
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	// Without an fd, writev: a seccomp filter loaded before the last
	// messages (no noNewPrivileges) is likelier to allow it than sendmsg,
	// as runc's init writes to its sync pipe. SIGPIPE is caught.
	do {
		n = fd >= 0 ? sendmsg(c->sync_fd, &m, MSG_NOSIGNAL) : writev(c->sync_fd, iov, len ? 2 : 1);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

// teu_wait_ok waits for the parent's go-ahead. A parent that hangs up
// instead has failed and says why itself: exit quietly.
int teu_wait_ok(struct teu_ctx *c)
{
	struct teu_msg h;
	ssize_t n;

	do {
		n = read(c->sync_fd, &h, sizeof(h));
	} while (n < 0 && errno == EINTR);
	if (n == 0)
		_exit(1);
	if (n < 0)
		return -errno;
	if ((size_t)n != sizeof(h) || h.type != TEU_MSG_OK)
		return -EPROTO;
	return 0;
}

// read_part reads one plan part from the plan pipe into c.
static int read_part(struct teu_ctx *c)
{
	char hdr[20];
	uint32_t len;
	char *buf;
	struct teu_part part;
	int r;

	if ((r = read_full(c->plan_fd, hdr, sizeof(hdr))) < 0)
		return r;
	len = (uint32_t)(unsigned char)hdr[8] | (uint32_t)(unsigned char)hdr[9] << 8 |
	      (uint32_t)(unsigned char)hdr[10] << 16 | (uint32_t)(unsigned char)hdr[11] << 24;
	if (len < sizeof(hdr) || len > TEU_MAX_PART)
		return -TEU_E_PLAN;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, hdr, sizeof(hdr));
	if ((r = read_full(c->plan_fd, buf + sizeof(hdr), len - sizeof(hdr))) < 0) {
		free(buf);
		return r;
	}
	if (teu_decode_part(buf, len, &part) < 0) {
		free(buf);
		return -TEU_E_PLAN;
	}
	free(c->part.steps);
	free(c->buf);
	free(c->us);
	c->buf = buf;
	c->part = part;
	c->timed = 0;
	c->us = malloc((part.n ? part.n : 1) * sizeof(*c->us));
	if (!c->us)
		return -ENOMEM;
	// A step skipped, or not reached, is reported as UINT32_MAX.
	memset(c->us, 0xff, (part.n ? part.n : 1) * sizeof(*c->us));
	return 0;
}

static int send_timings(struct teu_ctx *c, uint32_t upto)
{
	uint32_t from = c->timed;
	int r;

	if (upto <= from)
		return 0;
	r = teu_send_msg(c, TEU_MSG_TIMINGS, (int32_t)(c->part.first + from), 0, c->us + from,
			 (upto - from) * (uint32_t)sizeof(uint32_t), -1);
	c->timed = upto;
	return r;
}

// fail reports step's failure where the parent (or start) will read it,
// and exits.
static void fail(struct teu_ctx *c, uint32_t step, int code, const char *desc) __attribute__((noreturn));
static void fail(struct teu_ctx *c, uint32_t step, int code, const char *desc)
{
	size_t dlen = strnlen(c->detail, sizeof(c->detail));

	if (c->sync_fd >= 0 && teu_send_msg(c, TEU_MSG_ERROR, (int32_t)step, code, c->detail, (uint32_t)dlen, -1) == 0)
		_exit(1);
	if (c->fifo_fd >= 0) {
		// start reads this after the byte FIFO_WAIT wrote.
		uint32_t hdr[3] = {step, (uint32_t)code, (uint32_t)strlen(desc)};
		uint32_t n = (uint32_t)dlen;
		if (teu_write_all(c->fifo_fd, hdr, sizeof(hdr)) >= 0 && teu_write_all(c->fifo_fd, desc, hdr[2]) >= 0 &&
		    teu_write_all(c->fifo_fd, &n, sizeof(n)) >= 0)
			teu_write_all(c->fifo_fd, c->detail, n);
	}
	_exit(1);
}

static int op_control(struct teu_ctx *c, const struct teu_step *s, int *replaced)
{
	const struct teu_arg *a = s->a;
	int fd, r;

	switch (s->op) {
	case TEU_OP_NOP:
		return 0;
	case TEU_OP_ADOPT:
		// The parent's fds arrive without O_CLOEXEC (exec passes them):
		// nothing but the preserved fds may reach the container.
		if (a[1].i < 3 || a[1].i > 1 << 20 || fcntl((int)a[1].i, F_SETFD, FD_CLOEXEC) < 0)
			return -EBADF;
		return teu_set_slot(c, a[0].i, (int)a[1].i);
	case TEU_OP_CLOSE:
		if ((fd = teu_slot(c, a[0].i)) < 0)
			return 0;
		close(fd);
		c->slots[a[0].i] = -1;
		return 0;
	case TEU_OP_SYNC:
		if ((r = teu_send_msg(c, TEU_MSG_SYNC, (int32_t)a[0].i, 0, NULL, 0, -1)) < 0)
			return r;
		return teu_wait_ok(c);
	case TEU_OP_SEND_FD:
		if ((fd = teu_slot(c, a[0].i)) < 0)
			return fd;
		if ((r = teu_send_msg(c, TEU_MSG_FD, (int32_t)a[1].i, 0, NULL, 0, fd)) < 0)
			return r;
		return teu_wait_ok(c);
	case TEU_OP_CONTINUE:
		if ((r = read_part(c)) < 0)
			return r;
		*replaced = 1;
		return 0;
	case TEU_OP_TIMINGS:
		return 0; // sent by the main loop, with this step's own time
	case TEU_OP_READY:
		if ((r = teu_send_msg(c, TEU_MSG_SYNC, TEU_TAG_READY, 0, NULL, 0, -1)) < 0)
			return r;
		close(c->sync_fd);
		c->sync_fd = -1;
		return 0;
	}
	return 1; // not a control op
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

// exit_on_signal: the init has no Go runtime to die of a SIGTERM sent
// before start, and as PID 1 of its namespace it would ignore every
// signal without a handler: exit as the signal asked. execve resets it.
static void exit_on_signal(int sig)
{
	_exit(128 + sig);
}

static void ignore_signal(int sig)
{
	(void)sig;
}

// catch_signals installs handlers, never SIG_IGN, which execve would pass
// on to the container's process. A write to a hook that stopped reading
// fails with EPIPE instead of killing us.
static void catch_signals(void)
{
	static const int sigs[] = {SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM};
	struct sigaction sa = {.sa_handler = exit_on_signal};

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	sa.sa_handler = ignore_signal;
	sigaction(SIGPIPE, &sa, NULL);
}

void teu_run_plan(struct teu_ctx *c)
{
	int r;

	catch_signals();
	if ((r = read_part(c)) < 0) {
		snprintf(c->detail, sizeof(c->detail), "read the plan");
		fail(c, 0, -r, "");
	}
	for (uint32_t i = 0; i < c->part.n;) {
		const struct teu_step *s = &c->part.steps[i];
		uint32_t index = c->part.first + i;
		uint64_t t0 = now_ns();
		int replaced = 0;

		c->detail[0] = '\0';
		r = op_control(c, s, &replaced);
		if (r == 1)
			r = teu_op_fs(c, s);
		if (r == 1)
			r = teu_op_proc(c, s);
		if (r == 1)
			r = -TEU_E_PLAN;
		if (replaced) {
			i = 0;
			continue;
		}
		c->us[i] = (uint32_t)((now_ns() - t0) / 1000) & 0x7fffffff;
		if (r == 0) {
			if (s->op == TEU_OP_TIMINGS && send_timings(c, i + 1) < 0)
				fail(c, index, EPIPE, s->desc);
			i += 1u + s->skip_ok;
		} else if (-r < 64 && (s->alt_errnos & (1ull << -r))) {
			i += 1u + s->skip_alt;
		} else {
			fail(c, index, -r, s->desc);
		}
	}
	// A plan must end in an exec; falling off its end is the plan's bug.
	fail(c, c->part.first + c->part.n, TEU_E_PLAN, "end of plan");
}
