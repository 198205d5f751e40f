// bootstrap.c: parser of the bootstrap message (see bootstrap.h). It reads
// untrusted-length input, so every length is checked before use; it is fuzzed
// from Go (FuzzParseBootstrap).
#define _GNU_SOURCE
#include <sched.h>
#include <string.h>

#include "bootstrap.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define TEU_NS_ALL                                                               \
	(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | \
	 CLONE_NEWUTS | CLONE_NEWCGROUP | CLONE_NEWTIME)

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int one_ns_flag(uint32_t v)
{
	return v != 0 && (v & (v - 1)) == 0 && (v & ~(uint32_t)TEU_NS_ALL) == 0;
}

int teu_parse_bootstrap(const char *msg, size_t len, struct teu_bootstrap *bs)
{
	const unsigned char *p = (const unsigned char *)msg;
	uint32_t joined = 0;
	size_t off = 4;

	memset(bs, 0, sizeof(*bs));
	if (len < 4 || len > TEU_MAX_MSG || memcmp(p, "TEU1", 4) != 0)
		return -1;
	while (off < len) {
		uint16_t type, alen;

		if (len - off < 4)
			return -1;
		type = (uint16_t)(p[off] | p[off + 1] << 8);
		alen = (uint16_t)(p[off + 2] | p[off + 3] << 8);
		off += 4;
		if (alen > len - off)
			return -1;
		switch (type) {
		case TEU_ATTR_CLONE_FLAGS:
			if (alen != 4)
				return -1;
			bs->clone_flags = get_u32(p + off);
			if (bs->clone_flags & ~(uint32_t)TEU_NS_ALL)
				return -1;
			break;
		case TEU_ATTR_NS_PATH: {
			struct teu_ns_path *ns;
			uint32_t nstype;

			if (alen <= 4 || alen - 4 >= TEU_PATH_MAX || bs->nns >= TEU_MAX_NS)
				return -1;
			nstype = get_u32(p + off);
			if (!one_ns_flag(nstype) || (joined & nstype))
				return -1;
			if (memchr(p + off + 4, '\0', alen - 4))
				return -1;
			joined |= nstype;
			ns = &bs->ns[bs->nns++];
			ns->type = nstype;
			memcpy(ns->path, p + off + 4, alen - 4);
			ns->path[alen - 4] = '\0';
			break;
		}
		case TEU_ATTR_TIMENS:
			if (alen >= TEU_TIMENS_MAX || memchr(p + off, '\0', alen))
				return -1;
			memcpy(bs->timens_offsets, p + off, alen);
			bs->timens_offsets[alen] = '\0';
			break;
		case TEU_ATTR_CGROUP_SYNC:
			if (alen != 0)
				return -1;
			bs->cgroup_sync = 1;
			break;
		case TEU_ATTR_OOM_SCORE_ADJ: {
			int32_t v;

			if (alen != 4 || bs->has_oom_score_adj)
				return -1;
			v = (int32_t)get_u32(p + off);
			if (v < -1000 || v > 1000)
				return -1;
			bs->has_oom_score_adj = 1;
			bs->oom_score_adj = v;
			break;
		}
		default:
			return -1;
		}
		off += alen;
	}
	if (joined & bs->clone_flags)
		return -1;
	return 0;
}
