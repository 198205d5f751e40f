// nsexec.c: the C constructor that makes `teu init` the plan executor.
//
// Every teu process runs it before the Go runtime starts. In a teu command
// it maps its own image in (prefault.c), notes the fds the caller passed
// (inherited.c) and returns. In `teu init` (the container's init, or exec's
// process), started by teu with _TEU_INIT_SOCK (the sync socket) and
// _TEU_INIT_PLAN (the plan pipe) set, it never returns: it runs the plan the
// parent sends (executor.c), which ends in the execve of the container's
// process. setns(2) into a user or mount namespace and
// unshare(CLONE_NEWUSER) need a single-threaded process, and no Go runtime
// ever starts in a container.
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "executor.h"
#include "inherited.h"
#include "prefault.h"

static int env_fd(const char *name)
{
	const char *v = getenv(name);
	char *end;
	long fd;

	if (!v)
		return -1;
	fd = strtol(v, &end, 10);
	if (*end || fd < 3 || fd > 1 << 20 || fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0)
		return -1;
	return (int)fd;
}

__attribute__((constructor)) static void teu_nsenter(void)
{
	static struct teu_ctx c;

	if (!getenv("_TEU_INIT_SOCK")) {
		teu_prefault_image(); // a teu command, not an init
		// One malloc arena: glibc gives every thread that touches
		// malloc one of its own, and each Go thread frees the struct
		// that started it (cgo). C here mallocs little, on one thread.
		mallopt(M_ARENA_MAX, 1);
		teu_note_inherited_fds();
		return;
	}
	memset(&c, 0, sizeof(c));
	for (int i = 0; i < TEU_MAX_SLOTS; i++)
		c.slots[i] = -1;
	c.fifo_fd = -1;
	c.sync_fd = env_fd("_TEU_INIT_SOCK");
	c.plan_fd = env_fd("_TEU_INIT_PLAN");
	if (c.sync_fd < 0 || c.plan_fd < 0) {
		static const char msg[] = "teu init: started without a sync socket and a plan\n";
		if (write(2, msg, sizeof(msg) - 1) < 0)
			_exit(1);
		_exit(1);
	}
	// Nothing of the parent's environment is for the container.
	clearenv();
	teu_run_plan(&c);
}
