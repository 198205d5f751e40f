// plan.h: the plan the executor runs and the messages it exchanges with
// its parent. The Go side (libcontainer/plan) defines both and encodes
// plans; this header mirrors its numbers (a test checks they agree) and
// plan.c decodes. See libcontainer/plan/plan.go for the wire format and
// docs/plan.md for the table of ops.
#ifndef TEU_PLAN_H
#define TEU_PLAN_H

#include <stddef.h>
#include <stdint.h>

#define TEU_PLAN_MAGIC "TEUP"
#define TEU_PLAN_VERSION 1
#define TEU_MAX_PART (16u << 20)
#define TEU_MAX_STEPS (1u << 16)
#define TEU_MAX_ARGS 8
#define TEU_MAX_SLOTS 64
#define TEU_STEP_DESC 1 // step flag: the last argument describes the step

enum teu_op {
	TEU_OP_NOP = 0,
	TEU_OP_ADOPT = 1,
	TEU_OP_CLOSE = 2,
	TEU_OP_SYNC = 3,
	TEU_OP_SEND_FD = 4,
	TEU_OP_CONTINUE = 5,
	TEU_OP_DUMPABLE = 6,
	TEU_OP_WRITE = 7,
	TEU_OP_OPEN = 8,
	TEU_OP_SETNS = 9,
	TEU_OP_UNSHARE = 10,
	TEU_OP_SETRESID = 11,
	TEU_OP_FORK = 12,
	TEU_OP_SETSID = 13,
	TEU_OP_KEYRING = 14,

	TEU_OP_OPEN_IN_ROOT = 20,
	TEU_OP_MOUNT = 21,
	TEU_OP_MOUNT_PATH = 22,
	TEU_OP_OPEN_TREE = 23,
	TEU_OP_SETATTR = 24,
	TEU_OP_MOVE_MOUNT = 25,
	TEU_OP_CHECK_NODE = 26,
	TEU_OP_MKNOD = 27,
	TEU_OP_CHOWN = 28,
	TEU_OP_UNLINK = 29,
	TEU_OP_SYMLINK = 30,
	TEU_OP_MASK = 31,
	TEU_OP_SETXATTR = 32,
	TEU_OP_PIVOT_ROOT = 33,
	TEU_OP_CHROOT = 34,
	TEU_OP_MOVE_ROOT = 35,
	TEU_OP_CHDIR = 36,
	TEU_OP_CHECK_CWD = 37,
	TEU_OP_PROCFS = 38,
	TEU_OP_PROC_WRITE = 39,
	TEU_OP_FS_MOUNT = 40,
	TEU_OP_UNMOUNT = 41,
	TEU_OP_COPY_TREE = 42,

	TEU_OP_HOSTNAME = 50,
	TEU_OP_DOMAINNAME = 51,
	TEU_OP_IF_UP = 52,
	TEU_OP_CONSOLE = 53,
	TEU_OP_STDIO_CHOWN = 54,
	TEU_OP_UMASK = 55,

	TEU_OP_RLIMIT = 60,
	TEU_OP_SCHED_ATTR = 61,
	TEU_OP_IOPRIO = 62,
	TEU_OP_PERSONALITY = 63,
	TEU_OP_MEMPOLICY = 64,
	TEU_OP_AFFINITY = 65,
	TEU_OP_CAP_BOUNDING = 66,
	TEU_OP_KEEP_CAPS = 67,
	TEU_OP_SETGROUPS = 68,
	TEU_OP_CAPSET = 69,
	TEU_OP_AMBIENT = 70,
	TEU_OP_NO_NEW_PRIVS = 71,
	TEU_OP_SECCOMP = 72,
	TEU_OP_CLOSE_FROM = 73,

	TEU_OP_READY = 80,
	TEU_OP_FIFO_WAIT = 81,
	TEU_OP_HOOK = 82,
	TEU_OP_EXEC = 83,
	TEU_OP_TIMINGS = 84,

	TEU_OP_MAX = 85,
};

// OPEN_IN_ROOT's how bits.
#define TEU_HOW_MKDIR 1       // create missing directories, the last one too
#define TEU_HOW_MKFILE 2      // create missing parents, the last one an empty file
#define TEU_HOW_NO_SYMLINKS 4 // no symlink anywhere on the way
#define TEU_HOW_DIRECTORY 8   // the result must be a directory

// CHECK_NODE's kinds. DIR fails with ENOTDIR, NOT_DIR with EISDIR (errnos, so
// that a step can branch on them).
#define TEU_NODE_DIR 1
#define TEU_NODE_NOT_DIR 2
#define TEU_NODE_CHR 3 // a character device major:minor
#define TEU_NODE_NOT_SYMLINK 4

// Error codes beyond errno.
#define TEU_E_BASE 4096
#define TEU_E_NOT_NULL (TEU_E_BASE + 3)
#define TEU_E_NOT_PROCFS (TEU_E_BASE + 4)
#define TEU_E_SYMLINK (TEU_E_BASE + 5)
#define TEU_E_BAD_CWD (TEU_E_BASE + 6)
#define TEU_E_HOOK_FAILED (TEU_E_BASE + 7)
#define TEU_E_HOOK_KILLED (TEU_E_BASE + 8)
#define TEU_E_TIMEOUT (TEU_E_BASE + 9)
#define TEU_E_PLAN (TEU_E_BASE + 10)
#define TEU_E_NOT_TTY (TEU_E_BASE + 11)
#define TEU_E_NOT_CHR (TEU_E_BASE + 12)

// Messages on the sync socket.
#define TEU_MSG_SYNC 1
#define TEU_MSG_FD 2
#define TEU_MSG_PID 3
#define TEU_MSG_ERROR 4
#define TEU_MSG_TIMINGS 5
#define TEU_MSG_OK 16

#define TEU_TAG_READY 8

struct teu_msg {
	uint32_t type;
	int32_t a;
	int32_t b;
	uint32_t len;
};

enum teu_kind { TEU_INT = 1, TEU_STR = 2, TEU_BLOB = 3 };

struct teu_arg {
	int64_t i;
	const char *p; // into the part's buffer; a string's is NUL-terminated
	uint32_t len;
};

struct teu_step {
	uint16_t op;
	uint8_t nargs; // without the description
	uint8_t flags;
	uint16_t skip_ok;
	uint16_t skip_alt;
	uint64_t alt_errnos;
	const char *desc; // TEU_STEP_DESC's, else ""
	struct teu_arg a[TEU_MAX_ARGS];
};

struct teu_part {
	uint32_t first;
	uint32_t n;
	struct teu_step *steps; // malloc'd
};

// teu_op_sig is op's argument signature ("isb"...), or NULL if unknown.
const char *teu_op_sig(unsigned op);

// teu_decode_part decodes buf (len bytes, which must stay alive) into
// part; 0, or -1 on any malformed input. part->steps is malloc'd.
int teu_decode_part(const char *buf, size_t len, struct teu_part *part);

#endif
