// inherited.c: which fds above stdio the caller passed us, noted before the
// Go runtime starts. The runtime opens files of its own at start (Go 1.25+
// keeps the cgroup's CPU quota files open to size GOMAXPROCS), so a list
// made from Go would count those as the caller's, and --preserve-fds would
// hand them to the container.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "inherited.h"

int *teu_inherited_fds;
int teu_inherited_n;
int teu_inherited_ok;

// Raw getdents64: opendir's buffer would be malloc'd and freed for
// nothing, in every teu process.
struct dirent64_hdr {
	unsigned long long ino;
	long long off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

static int parse_fd(const char *s)
{
	long v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 1 << 30)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return (int)v;
}

void teu_note_inherited_fds(void)
{
	char buf[4096] __attribute__((aligned(8)));
	int cap = 0;
	int dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return; // teu_inherited_ok stays 0: unknown
	for (;;) {
		long n = syscall(SYS_getdents64, dfd, buf, sizeof(buf));
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		for (long off = 0; off < n;) {
			struct dirent64_hdr *d = (struct dirent64_hdr *)(buf + off);
			int fd;
			if (d->reclen == 0)
				goto out;
			fd = parse_fd(d->name);
			off += d->reclen;
			if (fd < 3 || fd == dfd)
				continue;
			if (teu_inherited_n == cap) {
				int *p = realloc(teu_inherited_fds, (size_t)(cap ? cap * 2 : 16) * sizeof(int));
				if (!p)
					goto out;
				teu_inherited_fds = p;
				cap = cap ? cap * 2 : 16;
			}
			teu_inherited_fds[teu_inherited_n++] = fd;
			// Nothing we start but the init, as a preserved fd, may get it.
			fcntl(fd, F_SETFD, FD_CLOEXEC);
		}
	}
	teu_inherited_ok = 1;
out:
	close(dfd);
}
