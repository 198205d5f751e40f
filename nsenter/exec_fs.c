// exec_fs.c: the executor's namespace, mount and root steps. Every path
// inside the container's root is resolved by the kernel (openat2 with
// RESOLVE_IN_ROOT) and every mount goes onto an O_PATH fd, so a symlink the
// image planted cannot send a step outside the root.
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "executor.h"

#define NEG(x) ((x) < 0 ? -errno : 0)

static int openat2_in(int dir, const char *path, uint64_t flags, uint64_t resolve)
{
	struct open_how how = {.flags = flags | O_CLOEXEC, .resolve = resolve};
	int fd;

	do {
		fd = (int)syscall(SYS_openat2, dir, path, &how, sizeof(how));
	} while (fd < 0 && errno == EAGAIN); // a rename raced the walk
	return fd < 0 ? -errno : fd;
}

static const char *rel(const char *path)
{
	while (*path == '/')
		path++;
	return *path ? path : ".";
}

// create_in_root makes path's missing components inside root (the last one
// a directory, or an empty file with MKFILE). It starts below the deepest
// prefix that resolves (usually the parent: one lookup, not one a
// component) and opens each component it makes through root again, so a
// component made a symlink meanwhile still resolves inside.
static int create_in_root(int root, const char *path, int64_t how, mode_t perm, uint64_t resolve)
{
	char buf[4096];
	size_t n = 0;
	char *p;
	int dir;

	// buf: path's components, joined by single slashes.
	for (const char *s = path; *s; s++) {
		if (*s == '/' && (n == 0 || buf[n - 1] == '/'))
			continue;
		if (n + 1 >= sizeof(buf))
			return -ENAMETOOLONG;
		buf[n++] = *s;
	}
	if (n > 0 && buf[n - 1] == '/')
		n--;
	buf[n] = '\0';
	if (n == 0)
		return openat2_in(root, ".", O_PATH, resolve);
	for (p = buf + n;;) {
		char *slash = memrchr(buf, '/', (size_t)(p - buf));

		if (!slash) {
			dir = openat2_in(root, ".", O_PATH, resolve);
			p = buf;
			break;
		}
		*slash = '\0';
		dir = openat2_in(root, buf, O_PATH, resolve);
		*slash = '/';
		if (dir != -ENOENT) {
			p = slash + 1;
			break;
		}
		p = slash;
	}
	if (dir < 0)
		return dir;
	// p is the first missing component: make it and each after it.
	for (;;) {
		char *end = strchr(p, '/');
		int fd, r;

		if (end)
			*end = '\0';
		if (!end && (how & TEU_HOW_MKFILE)) {
			int f = openat(dir, p, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, perm & 0777);
			if (f >= 0)
				close(f);
			r = f < 0 && errno != EEXIST ? -errno : 0;
		} else {
			// A file's parents are directories anyone may walk.
			mode_t dmode = (how & TEU_HOW_MKFILE) ? 0755 : perm & 07777;
			r = mkdirat(dir, p, dmode) < 0 && errno != EEXIST ? -errno : 0;
		}
		fd = r == 0 ? openat2_in(root, buf, O_PATH, resolve) : r;
		close(dir);
		dir = fd;
		if (fd < 0 || !end)
			return fd;
		*end = '/';
		p = end + 1;
	}
}

static int open_in_root(struct teu_ctx *c, const struct teu_arg *a)
{
	int root = teu_slot(c, a[1].i);
	uint64_t resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	int64_t how = a[3].i;
	struct stat st;
	int fd;

	if (root < 0)
		return root;
	if (how & TEU_HOW_NO_SYMLINKS)
		resolve |= RESOLVE_NO_SYMLINKS;
	fd = openat2_in(root, rel(a[2].p), O_PATH, resolve);
	if (fd == -ENOENT && (how & (TEU_HOW_MKDIR | TEU_HOW_MKFILE)))
		fd = create_in_root(root, a[2].p, how, (mode_t)a[4].i, resolve);
	if (fd == -ELOOP && (how & TEU_HOW_NO_SYMLINKS))
		fd = -TEU_E_SYMLINK;
	if (fd < 0)
		return fd;
	if ((how & TEU_HOW_DIRECTORY) && (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode))) {
		close(fd);
		return -ENOTDIR;
	}
	return teu_set_slot(c, a[0].i, fd);
}

static const char *opt(const struct teu_arg *a)
{
	return a->len ? a->p : NULL;
}

static int mount_on(struct teu_ctx *c, const struct teu_arg *a)
{
	char target[32];
	int fd = teu_slot(c, a[0].i);

	if (fd < 0)
		return fd;
	snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
	return NEG(mount(opt(&a[1]), target, opt(&a[2]), (unsigned long)a[3].i, opt(&a[4])));
}

static int check_node(struct teu_ctx *c, const struct teu_arg *a)
{
	int fd = teu_slot(c, a[0].i);
	struct stat st;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	switch (a[1].i) {
	case TEU_NODE_DIR:
		return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	case TEU_NODE_NOT_DIR:
		return S_ISDIR(st.st_mode) ? -EISDIR : 0;
	case TEU_NODE_NOT_SYMLINK:
		return S_ISLNK(st.st_mode) ? -TEU_E_SYMLINK : 0;
	case TEU_NODE_CHR:
		if (S_ISCHR(st.st_mode) && major(st.st_rdev) == a[2].i && minor(st.st_rdev) == a[3].i)
			return 0;
		return a[2].i == 1 && a[3].i == 3 ? -TEU_E_NOT_NULL : -TEU_E_NOT_CHR;
	}
	return -TEU_E_PLAN;
}

static int fs_config(int fs, const char *kv, uint32_t len)
{
	const char *end = kv + len;

	// key\0value\0 pairs; an empty value sets a flag.
	while (kv < end) {
		const char *key = kv, *val = memchr(kv, 0, (size_t)(end - kv));
		const char *next;
		if (!val || ++val >= end || !(next = memchr(val, 0, (size_t)(end - val))))
			return -TEU_E_PLAN;
		if (*val ? fsconfig(fs, FSCONFIG_SET_STRING, key, val, 0) : fsconfig(fs, FSCONFIG_SET_FLAG, key, NULL, 0))
			return -errno;
		kv = next + 1;
	}
	return NEG(fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0));
}

// fs_mount makes a detached mount of a new fstype filesystem.
static int fs_mount(const char *fstype, uint64_t attrs, const char *kv, uint32_t len)
{
	int fs = -1, m, r = -EBUSY;

	// A v1 cgroup's get_tree asks for a syscall restart while a hierarchy
	// root is settling; restarted, FSCONFIG_CMD_CREATE finds its context
	// spent and fails EBUSY (mount(2) would make a new one). So EBUSY
	// from a fresh context means: try again with another.
	for (int i = 0; i < 50 && r == -EBUSY; i++) {
		if (fs >= 0)
			close(fs);
		fs = fsopen(fstype, FSOPEN_CLOEXEC);
		if (fs < 0)
			return -errno;
		r = fs_config(fs, kv, len);
	}
	if (r < 0) {
		close(fs);
		return r;
	}
	m = fsmount(fs, FSMOUNT_CLOEXEC, (unsigned int)attrs);
	r = m < 0 ? -errno : m;
	close(fs);
	return r;
}

// mask hides what slot a[0] holds: a directory under a clone of the empty
// read-only tmpfs in slot a[2], anything else under a clone of /dev/null
// (slot a[1], checked to be the null device by an earlier step).
static int mask(struct teu_ctx *c, const struct teu_arg *a)
{
	int fd = teu_slot(c, a[0].i), src, t;
	struct stat st;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	src = teu_slot(c, S_ISDIR(st.st_mode) ? a[2].i : a[1].i);
	if (src < 0)
		return src;
	t = open_tree(src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (t < 0 && errno == EINVAL) {
		// Before Linux 6.15 a detached mount (fsmount's tmpfs) cannot
		// be cloned: move it into place itself; once attached, the
		// next masked directory clones it.
		if (move_mount(src, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
			return -errno;
		return 0;
	}
	if (t < 0)
		return -errno;
	if (move_mount(t, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
		int e = errno;
		close(t);
		return -e;
	}
	close(t);
	return 0;
}

// copy_tree copies the content of directory src into directory dst (both
// fds of ours), keeping modes, owners and times: tmpcopyup's copy of what
// the image has where a tmpfs goes. Symlinks are copied as they are (never
// followed), devices and fifos made again, sockets skipped.
static int copy_tree(int src, int dst, int depth)
{
	char buf[4096] __attribute__((aligned(8)));
	int dir, r = 0;
	long n;

	if (depth > 64)
		return -ELOOP;
	dir = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	while (r == 0 && (n = syscall(SYS_getdents64, dir, buf, sizeof(buf))) > 0) {
		for (long off = 0; r == 0 && off < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			const char *name = d->d_name;
			struct stat st;
			struct timespec ts[2];

			off += d->d_reclen;
			if (!strcmp(name, ".") || !strcmp(name, ".."))
				continue;
			if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
				r = -errno;
				break;
			}
			if (S_ISDIR(st.st_mode)) {
				int s2, d2;
				if (mkdirat(dst, name, 0700) < 0 && errno != EEXIST) {
					r = -errno;
					break;
				}
				s2 = openat(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				d2 = openat(dst, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (s2 < 0 || d2 < 0)
					r = -errno;
				else
					r = copy_tree(s2, d2, depth + 1);
				if (s2 >= 0)
					close(s2);
				if (d2 >= 0)
					close(d2);
			} else if (S_ISREG(st.st_mode)) {
				int in = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
				int out = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
				if (in < 0 || out < 0)
					r = -errno;
				while (r == 0) {
					ssize_t k = copy_file_range(in, NULL, out, NULL, 1 << 20, 0);
					if (k < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP))
						k = sendfile(out, in, NULL, 1 << 20);
					if (k < 0 && errno == EINTR)
						continue;
					if (k < 0)
						r = -errno;
					if (k <= 0)
						break;
				}
				if (in >= 0)
					close(in);
				if (out >= 0)
					close(out);
			} else if (S_ISLNK(st.st_mode)) {
				char target[4096];
				ssize_t k = readlinkat(dir, name, target, sizeof(target) - 1);
				if (k < 0) {
					r = -errno;
					break;
				}
				target[k] = '\0';
				if (symlinkat(target, dst, name) < 0)
					r = -errno;
			} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
				if (mknodat(dst, name, st.st_mode & (S_IFMT | 07777), st.st_rdev) < 0)
					r = -errno;
			} else {
				continue; // a socket is no content
			}
			if (r < 0)
				break;
			if (fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
				r = -errno;
			else if (!S_ISLNK(st.st_mode) && fchmodat(dst, name, st.st_mode & 07777, 0) < 0)
				r = -errno;
			ts[0] = st.st_atim;
			ts[1] = st.st_mtim;
			if (r == 0 && utimensat(dst, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
				r = -errno;
		}
		if (n < 0)
			r = -errno;
	}
	close(dir);
	return r;
}

static int pivot(int newroot)
{
	int old = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC), r = 0;

	if (old < 0)
		return -errno;
	// pivot_root(".", ".") stacks the old root under the new one, where
	// it is detached at once: no directory inside the rootfs is needed.
	if (fchdir(newroot) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || fchdir(old) < 0)
		r = -errno;
	// Keep the unmount of the old root from propagating to the host.
	else if (mount("", ".", NULL, MS_SLAVE | MS_REC, NULL) < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		r = -errno;
	close(old);
	return r;
}

// procfs gives us a procfs of our own: a new instance, or a clone of /proc
// without whatever is mounted over parts of it; either way checked.
static int procfs(void)
{
	struct statfs st;
	int fd = fs_mount("proc", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, "", 0);

	if (fd < 0) {
		fd = open_tree(AT_FDCWD, "/proc", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (fd < 0)
			return -errno;
	}
	if (fstatfs(fd, &st) < 0 || st.f_type != PROC_SUPER_MAGIC) {
		close(fd);
		return -TEU_E_NOT_PROCFS;
	}
	return fd;
}

static int proc_write(struct teu_ctx *c, const struct teu_arg *a)
{
	int proc = teu_slot(c, a[0].i), fd;
	ssize_t n;

	if (proc < 0)
		return proc;
	fd = openat2_in(proc, a[1].p, O_WRONLY | O_NOFOLLOW | O_NOCTTY,
			RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS);
	if (fd < 0)
		return fd;
	// One write: procfs takes a value per write call.
	do {
		n = write(fd, a[2].p, a[2].len);
	} while (n < 0 && errno == EINTR);
	n = n < 0 ? -errno : 0;
	close(fd);
	return (int)n;
}

static int write_file(const char *path, const char *data, uint32_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return -errno;
	do {
		n = write(fd, data, len);
	} while (n < 0 && errno == EINTR);
	n = n < 0 ? -errno : 0;
	close(fd);
	return (int)n;
}

static int set_slot_result(struct teu_ctx *c, int64_t slot, int fd)
{
	if (fd < 0)
		return -errno;
	return teu_set_slot(c, slot, fd);
}

int teu_op_fs(struct teu_ctx *c, const struct teu_step *s)
{
	const struct teu_arg *a = s->a;
	int fd, to;

	switch (s->op) {
	case TEU_OP_DUMPABLE:
		return NEG(prctl(PR_SET_DUMPABLE, a[0].i ? 1 : 0, 0, 0, 0));
	case TEU_OP_WRITE:
		return write_file(a[0].p, a[1].p, a[1].len);
	case TEU_OP_OPEN:
		return set_slot_result(c, a[0].i, open(a[1].p, (int)a[2].i | O_CLOEXEC));
	case TEU_OP_SETNS:
		if ((fd = teu_slot(c, a[0].i)) < 0)
			return fd;
		return NEG(setns(fd, (int)a[1].i));
	case TEU_OP_UNSHARE:
		return NEG(unshare((int)a[0].i));
	case TEU_OP_OPEN_IN_ROOT:
		return open_in_root(c, a);
	case TEU_OP_MOUNT:
		return mount_on(c, a);
	case TEU_OP_MOUNT_PATH:
		return NEG(mount(opt(&a[1]), a[0].p, opt(&a[2]), (unsigned long)a[3].i, opt(&a[4])));
	case TEU_OP_OPEN_TREE:
		fd = a[1].i < 0 ? AT_FDCWD : teu_slot(c, a[1].i);
		if (fd < 0 && fd != AT_FDCWD)
			return fd;
		return set_slot_result(c, a[0].i, open_tree(fd, a[2].p, (unsigned int)a[3].i | OPEN_TREE_CLOEXEC));
	case TEU_OP_SETATTR: {
		struct mount_attr attr = {.attr_set = (uint64_t)a[2].i, .attr_clr = (uint64_t)a[3].i,
					  .propagation = (uint64_t)a[4].i};
		if ((fd = teu_slot(c, a[0].i)) < 0)
			return fd;
		return NEG(mount_setattr(fd, "", AT_EMPTY_PATH | (unsigned int)a[1].i, &attr, sizeof(attr)));
	}
	case TEU_OP_MOVE_MOUNT:
		if ((fd = teu_slot(c, a[0].i)) < 0 || (to = teu_slot(c, a[1].i)) < 0)
			return -EBADF;
		return NEG(move_mount(fd, "", to, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH));
	case TEU_OP_CHECK_NODE:
		return check_node(c, a);
	case TEU_OP_MKNOD:
		if ((fd = teu_slot(c, a[0].i)) < 0)
			return fd;
		return NEG(mknodat(fd, a[1].p, (mode_t)a[2].i, (dev_t)a[3].i));
	case TEU_OP_CHOWN:
		if ((fd = teu_slot(c, a[0].i)) < 0)
			return fd;
		return NEG(fchownat(fd, a[1].p, (uid_t)a[2].i, (gid_t)a[3].i,
				    AT_SYMLINK_NOFOLLOW | (a[1].len ? 0 : AT_EMPTY_PATH)));
	case TEU_OP_UNLINK:
		if ((fd = teu_slot(c, a[0].i)) < 0)
			return fd;
		return NEG(unlinkat(fd, a[1].p, (int)a[2].i));
	case TEU_OP_SYMLINK:
		if ((fd = teu_slot(c, a[0].i)) < 0)
			return fd;
		return NEG(symlinkat(a[2].p, fd, a[1].p));
	case TEU_OP_MASK:
		return mask(c, a);
	case TEU_OP_SETXATTR: {
		char path[32];
		if ((fd = teu_slot(c, a[0].i)) < 0)
			return fd;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		return NEG(setxattr(path, a[1].p, a[2].p, a[2].len, 0));
	}
	case TEU_OP_PIVOT_ROOT:
		if ((fd = teu_slot(c, a[0].i)) < 0)
			return fd;
		return pivot(fd);
	case TEU_OP_CHROOT:
		if ((fd = teu_slot(c, a[0].i)) < 0)
			return fd;
		return NEG(fchdir(fd) < 0 || chroot(".") < 0 || chdir("/") < 0 ? -1 : 0);
	case TEU_OP_MOVE_ROOT:
		if ((fd = teu_slot(c, a[0].i)) < 0)
			return fd;
		return NEG(fchdir(fd) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 || chdir("/") < 0
				   ? -1
				   : 0);
	case TEU_OP_CHDIR:
		return NEG(chdir(a[0].p));
	case TEU_OP_CHECK_CWD: {
		char cwd[4096];
		// An fd of the host's leaked as cwd shows as "(unreachable)/..."
		// or fails (CVE-2024-21626).
		if (!getcwd(cwd, sizeof(cwd)) || cwd[0] != '/')
			return -TEU_E_BAD_CWD;
		return 0;
	}
	case TEU_OP_PROCFS:
		fd = procfs();
		return fd < 0 ? fd : teu_set_slot(c, a[0].i, fd);
	case TEU_OP_PROC_WRITE:
		return proc_write(c, a);
	case TEU_OP_COPY_TREE:
		if ((fd = teu_slot(c, a[0].i)) < 0 || (to = teu_slot(c, a[1].i)) < 0)
			return -EBADF;
		return copy_tree(fd, to, 0);
	case TEU_OP_UNMOUNT:
		return NEG(umount2(a[0].p, (int)a[1].i));
	case TEU_OP_FS_MOUNT:
		fd = fs_mount(a[1].p, (uint64_t)a[2].i, a[3].p, a[3].len);
		return fd < 0 ? fd : teu_set_slot(c, a[0].i, fd);
	}
	return 1;
}
