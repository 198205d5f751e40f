// executor.h: the plan executor's state and the ops' entry points.
#ifndef TEU_EXECUTOR_H
#define TEU_EXECUTOR_H

#include <stdint.h>
#include <sys/types.h>

#include "plan.h"

struct teu_ctx {
	int sync_fd; // the sync socket; -1 once closed (READY)
	int plan_fd; // where CONTINUE reads the next part
	int fifo_fd; // exec.fifo once FIFO_WAIT opened it: the late error channel
	int slots[TEU_MAX_SLOTS];
	char *buf; // the current part's bytes
	struct teu_part part;
	uint32_t *us;     // µs each step of the part took
	uint32_t timed;   // steps of the part already reported by TIMINGS
	char detail[512]; // more words for an error (a hook's output)
};

// The ops. Each returns 0, or a negative errno or -TEU_E_*.
int teu_op_fs(struct teu_ctx *c, const struct teu_step *s);
int teu_op_proc(struct teu_ctx *c, const struct teu_step *s);

// Helpers shared by the op files.
int teu_slot(struct teu_ctx *c, int64_t idx);
int teu_set_slot(struct teu_ctx *c, int64_t idx, int fd);
int teu_send_msg(struct teu_ctx *c, uint32_t type, int32_t a, int32_t b, const void *payload, uint32_t len, int fd);
int teu_wait_ok(struct teu_ctx *c);
ssize_t teu_write_all(int fd, const void *buf, size_t len);

// teu_run_plan reads the first part from c->plan_fd and runs the plan. It
// never returns: the last step execs, or a failure exits.
void teu_run_plan(struct teu_ctx *c) __attribute__((noreturn));

#endif
