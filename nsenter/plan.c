// plan.c: decoder of a plan part (format: libcontainer/plan/plan.go). The
// input comes from teu's own parent, but every length is still checked
// before use, and the decoder is fuzzed from Go (FuzzDecodePart): a part
// that does not decode is refused whole, before any step runs.
#include <stdlib.h>
#include <string.h>

#include "plan.h"

static const char *const sigs[TEU_OP_MAX] = {
	[TEU_OP_NOP] = "",
	[TEU_OP_ADOPT] = "ii",
	[TEU_OP_CLOSE] = "i",
	[TEU_OP_SYNC] = "i",
	[TEU_OP_SEND_FD] = "ii",
	[TEU_OP_CONTINUE] = "",
	[TEU_OP_DUMPABLE] = "i",
	[TEU_OP_WRITE] = "sb",
	[TEU_OP_OPEN] = "isi",
	[TEU_OP_SETNS] = "ii",
	[TEU_OP_UNSHARE] = "i",
	[TEU_OP_SETRESID] = "ii",
	[TEU_OP_FORK] = "",
	[TEU_OP_SETSID] = "",
	[TEU_OP_KEYRING] = "s",
	[TEU_OP_OPEN_IN_ROOT] = "iisii",
	[TEU_OP_MOUNT] = "issis",
	[TEU_OP_MOUNT_PATH] = "sssis",
	[TEU_OP_OPEN_TREE] = "iisi",
	[TEU_OP_SETATTR] = "iiiii",
	[TEU_OP_MOVE_MOUNT] = "ii",
	[TEU_OP_CHECK_NODE] = "iiii",
	[TEU_OP_MKNOD] = "isii",
	[TEU_OP_CHOWN] = "isii",
	[TEU_OP_UNLINK] = "isi",
	[TEU_OP_SYMLINK] = "iss",
	[TEU_OP_MASK] = "iii",
	[TEU_OP_SETXATTR] = "isb",
	[TEU_OP_PIVOT_ROOT] = "i",
	[TEU_OP_CHROOT] = "i",
	[TEU_OP_MOVE_ROOT] = "i",
	[TEU_OP_CHDIR] = "s",
	[TEU_OP_CHECK_CWD] = "",
	[TEU_OP_PROCFS] = "i",
	[TEU_OP_PROC_WRITE] = "isb",
	[TEU_OP_FS_MOUNT] = "isib",
	[TEU_OP_UNMOUNT] = "si",
	[TEU_OP_COPY_TREE] = "ii",
	[TEU_OP_HOSTNAME] = "s",
	[TEU_OP_DOMAINNAME] = "s",
	[TEU_OP_IF_UP] = "s",
	[TEU_OP_CONSOLE] = "iiii",
	[TEU_OP_STDIO_CHOWN] = "i",
	[TEU_OP_UMASK] = "i",
	[TEU_OP_RLIMIT] = "iiii",
	[TEU_OP_SCHED_ATTR] = "b",
	[TEU_OP_IOPRIO] = "i",
	[TEU_OP_PERSONALITY] = "i",
	[TEU_OP_MEMPOLICY] = "ib",
	[TEU_OP_AFFINITY] = "b",
	[TEU_OP_CAP_BOUNDING] = "ii",
	[TEU_OP_KEEP_CAPS] = "i",
	[TEU_OP_SETGROUPS] = "b",
	[TEU_OP_CAPSET] = "iii",
	[TEU_OP_AMBIENT] = "i",
	[TEU_OP_NO_NEW_PRIVS] = "",
	[TEU_OP_SECCOMP] = "bii",
	[TEU_OP_CLOSE_FROM] = "ii",
	[TEU_OP_READY] = "",
	[TEU_OP_FIFO_WAIT] = "ii",
	[TEU_OP_HOOK] = "sbbisb",
	[TEU_OP_EXEC] = "sbb",
	[TEU_OP_TIMINGS] = "",
};

const char *teu_op_sig(unsigned op)
{
	return op < TEU_OP_MAX ? sigs[op] : NULL;
}

static uint16_t u16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t u64(const unsigned char *p)
{
	return (uint64_t)u32(p) | (uint64_t)u32(p + 4) << 32;
}

static int kind_of(char c)
{
	return c == 'i' ? TEU_INT : c == 's' ? TEU_STR : TEU_BLOB;
}

// decode_arg reads one argument of kind want at *off.
static int decode_arg(const unsigned char *p, size_t len, size_t *off, int want, struct teu_arg *a)
{
	uint32_t n;

	if (len - *off < 1 || p[*off] != want)
		return -1;
	(*off)++;
	if (want == TEU_INT) {
		if (len - *off < 8)
			return -1;
		a->i = (int64_t)u64(p + *off);
		*off += 8;
		return 0;
	}
	if (len - *off < 4)
		return -1;
	n = u32(p + *off);
	*off += 4;
	if (n > len - *off)
		return -1;
	a->p = (const char *)p + *off;
	a->len = n;
	*off += n;
	if (want == TEU_STR) {
		// NUL-terminated on the wire, none inside.
		if (len - *off < 1 || p[*off] != 0 || memchr(a->p, 0, n))
			return -1;
		(*off)++;
	}
	return 0;
}

int teu_decode_part(const char *buf, size_t len, struct teu_part *part)
{
	const unsigned char *p = (const unsigned char *)buf;
	size_t off = 20;
	uint32_t n;

	memset(part, 0, sizeof(*part));
	if (len < 20 || len > TEU_MAX_PART || memcmp(p, TEU_PLAN_MAGIC, 4) != 0)
		return -1;
	if (u16(p + 4) != TEU_PLAN_VERSION || u16(p + 6) != 0 || u32(p + 8) != len)
		return -1;
	n = u32(p + 16);
	if (n > TEU_MAX_STEPS || u32(p + 12) > (1u << 31))
		return -1;
	part->first = u32(p + 12);
	part->n = n;
	part->steps = calloc(n ? n : 1, sizeof(*part->steps));
	if (!part->steps)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		struct teu_step *s = &part->steps[i];
		const char *sig;
		size_t nsig, nargs;

		if (len - off < 16)
			goto bad;
		s->op = u16(p + off);
		nargs = p[off + 2];
		s->flags = p[off + 3];
		s->skip_ok = u16(p + off + 4);
		s->skip_alt = u16(p + off + 6);
		s->alt_errnos = u64(p + off + 8);
		off += 16;
		sig = teu_op_sig(s->op);
		if (!sig || (s->flags & ~TEU_STEP_DESC) || (s->alt_errnos & 1))
			goto bad;
		if (s->skip_ok > n - 1 - i || s->skip_alt > n - 1 - i)
			goto bad;
		nsig = strlen(sig);
		if (nargs != nsig + ((s->flags & TEU_STEP_DESC) ? 1 : 0) || nargs > TEU_MAX_ARGS)
			goto bad;
		for (size_t j = 0; j < nsig; j++)
			if (decode_arg(p, len, &off, kind_of(sig[j]), &s->a[j]) < 0)
				goto bad;
		s->nargs = (uint8_t)nsig;
		s->desc = "";
		if (s->flags & TEU_STEP_DESC) {
			struct teu_arg d;
			if (decode_arg(p, len, &off, TEU_STR, &d) < 0)
				goto bad;
			s->desc = d.p;
		}
	}
	if (off != len)
		goto bad;
	return 0;
bad:
	free(part->steps);
	memset(part, 0, sizeof(*part));
	return -1;
}
