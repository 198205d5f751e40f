// bootstrap.h: the message `teu create`/`teu exec` send to nsexec.c.
//
// Layout (little-endian, no padding):
//   "TEU1"                         4-byte magic
//   records until the end:         u16 type, u16 length, length bytes of value
//     TEU_ATTR_CLONE_FLAGS  u32    namespaces to create (CLONE_NEW*)
//     TEU_ATTR_NS_PATH      u32 CLONE_NEW* type, then the path (no NUL)
//     TEU_ATTR_TIMENS       text written to /proc/self/timens_offsets
//     TEU_ATTR_CGROUP_SYNC  (empty) before the init is forked, ask the parent
//                           to place us in the container's cgroup ("C"/"c")
//                           and, once a new cgroup namespace is made, to
//                           take us out again ("O"/"o")
//     TEU_ATTR_OOM_SCORE_ADJ i32   written to /proc/self/oom_score_adj first
//                           thing, while we may (-1000..1000)
// Each namespace type may be joined once; flags to create and types to join
// must not overlap. Anything else is rejected.
#ifndef TEU_BOOTSTRAP_H
#define TEU_BOOTSTRAP_H

#include <stddef.h>
#include <stdint.h>

#define TEU_MAX_MSG 65536
#define TEU_MAX_NS 8
#define TEU_PATH_MAX 4096
#define TEU_TIMENS_MAX 256

enum {
	TEU_ATTR_CLONE_FLAGS = 1,
	TEU_ATTR_NS_PATH = 2,
	TEU_ATTR_TIMENS = 3,
	TEU_ATTR_CGROUP_SYNC = 4,
	TEU_ATTR_OOM_SCORE_ADJ = 5,
};

struct teu_ns_path {
	uint32_t type;
	char path[TEU_PATH_MAX];
};

struct teu_bootstrap {
	uint32_t clone_flags;
	int nns;
	struct teu_ns_path ns[TEU_MAX_NS];
	char timens_offsets[TEU_TIMENS_MAX];
	int cgroup_sync;
	int has_oom_score_adj;
	int32_t oom_score_adj;
};

// teu_parse_bootstrap fills bs from msg; returns 0, or -1 on any malformed input.
int teu_parse_bootstrap(const char *msg, size_t len, struct teu_bootstrap *bs);

#endif
